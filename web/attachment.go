package web

import (
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/guichet/guichet/ticket"
)

// attachment downloads a file of a ticket, checked exactly as the ticket page: the file
// must be one the user sees on the page (internal notes' files only for agents).
// Anything else is the same 404. Files are always downloads, never rendered.
func (h *Handler) attachment(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	d, err := h.opt.Portal.DetailFor(r.Context(), u, r.PathValue("key"))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	sum := strings.ToLower(r.PathValue("sha"))
	a, ok := findAttachment(d, sum, u.Role.IsStaff())
	if !ok {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	f, err := h.opt.Blobs.OpenBlob(r.Context(), a.SHA256)
	if errors.Is(err, fs.ErrNotExist) {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	defer f.Close()
	ct := a.ContentType
	if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})
	if cd == "" {
		cd = "attachment"
	}
	w.Header().Set("Content-Disposition", cd)
	w.Header().Set("Content-Length", strconv.FormatInt(a.Size, 10))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	io.Copy(w, f)
}

// findAttachment finds a file of the ticket or of a comment the user sees.
func findAttachment(d *ticket.Detail, sum string, staff bool) (ticket.Attachment, bool) {
	for _, a := range d.Attachments {
		if a.SHA256 == sum {
			return a, true
		}
	}
	for _, c := range d.Comments {
		if c.Visibility == ticket.Internal && !staff {
			continue
		}
		for _, a := range c.Attachments {
			if a.SHA256 == sum {
				return a, true
			}
		}
	}
	return ticket.Attachment{}, false
}
