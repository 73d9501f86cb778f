package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/guichet/guichet/ticket"
)

// avatarSave stores a new avatar: its type is sniffed from the content (the browser's
// word is not taken) and its size capped by ticket.MaxAvatarSize.
func (h *Handler) avatarSave(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	fail := func(key string) {
		h.showProfile(w, r, http.StatusUnprocessableEntity, func(v *profileView) { v.Errors["avatar"] = h.pages.T(u.Lang, key) })
	}
	r.Body = http.MaxBytesReader(w, r.Body, ticket.MaxAvatarSize+64<<10)
	f, fh, err := r.FormFile("avatar")
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		fail("profile.avatar_hint")
		return
	}
	if err != nil {
		fail("err.image")
		return
	}
	defer f.Close()
	if fh.Size > ticket.MaxAvatarSize {
		fail("profile.avatar_hint")
		return
	}
	data, err := io.ReadAll(io.LimitReader(f, ticket.MaxAvatarSize+1))
	if err != nil || int64(len(data)) > ticket.MaxAvatarSize {
		fail("profile.avatar_hint")
		return
	}
	ct := http.DetectContentType(data)
	if !slices.Contains(ticket.AvatarTypes, ct) {
		fail("err.image")
		return
	}
	sum, size, err := h.opt.Blobs.PutBlob(r.Context(), bytes.NewReader(data))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if err := h.opt.Portal.SetAvatar(r.Context(), u, ct, sum, size); err != nil {
		if errors.Is(err, ticket.ErrInvalid) {
			fail("err.image")
			return
		}
		h.failErr(w, r, err)
		return
	}
	h.redirect(w, r, "/profile", "profile.saved", "")
}

// avatar serves the user's own avatar image.
func (h *Handler) avatar(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	a, err := h.opt.Portal.Account(r.Context(), u.ID)
	if err != nil || a.AvatarSHA256 == "" {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	f, err := h.opt.Blobs.OpenBlob(r.Context(), a.AvatarSHA256)
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", a.AvatarType)
	w.Header().Set("Cache-Control", "private, max-age=300")
	io.Copy(w, f)
}
