package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"unicode"

	"github.com/guichet/guichet/ticket"
)

// errTooBig: the files of a form exceed Options.MaxUpload.
var errTooBig = errors.New("web: files too big")

// parseUpload parses a multipart form whose body may be a little above MaxUpload (the
// fields); a larger body fails with *http.MaxBytesError.
func (h *Handler) parseUpload(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, h.opt.MaxUpload+2<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return fmt.Errorf("web: read form: %w", err)
	}
	if r.PostForm == nil {
		return r.ParseForm()
	}
	return nil
}

// storeFiles stores the files of field name (after any kept earlier, by kept tokens)
// and returns them as attachments. Their total size is capped by MaxUpload.
func (h *Handler) storeFiles(r *http.Request, name string) ([]ticket.Attachment, error) {
	out := h.keptFiles(r)
	var total int64
	for _, a := range out {
		total += a.Size
	}
	if r.MultipartForm == nil {
		return out, nil
	}
	for _, fh := range r.MultipartForm.File[name] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // an empty file input
		}
		total += fh.Size
		if total > h.opt.MaxUpload {
			return out, errTooBig
		}
		a, err := h.storeFile(r, fh)
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (h *Handler) storeFile(r *http.Request, fh *multipart.FileHeader) (ticket.Attachment, error) {
	f, err := fh.Open()
	if err != nil {
		return ticket.Attachment{}, fmt.Errorf("web: open upload: %w", err)
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	sum, size, err := h.opt.Blobs.PutBlob(r.Context(), io.MultiReader(bytes.NewReader(head), f))
	if err != nil {
		return ticket.Attachment{}, err
	}
	return ticket.Attachment{Filename: cleanFilename(fh.Filename), ContentType: contentType(fh.Header.Get("Content-Type"), head),
		Size: size, SHA256: sum}, nil
}

// contentType keeps a declared type that is specific, else sniffs the content.
func contentType(declared string, head []byte) string {
	if mt, _, err := mime.ParseMediaType(declared); err == nil && mt != "application/octet-stream" {
		return mt
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	return mt
}

// cleanFilename keeps the base name, without control characters, at most 200 bytes.
func cleanFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." || name == "/" { // path.Base keeps ".."
		name = "fichier"
	}
	for len(name) > 200 {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

// keptFile is a file received with a form that had errors, carried to the next post
// by a signed token so that it is not lost.
type keptFile struct {
	Token    string
	Filename string
	Size     int64
}

type keptClaim struct {
	S string `json:"s"`
	N string `json:"n"`
	T string `json:"t"`
	Z int64  `json:"z"`
}

// keepToken signs an attachment for the next post of the form.
func (h *Handler) keepToken(a ticket.Attachment) keptFile {
	b, _ := json.Marshal(keptClaim{S: a.SHA256, N: a.Filename, T: a.ContentType, Z: a.Size})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return keptFile{Token: payload + "." + h.sign("kept:"+payload), Filename: a.Filename, Size: a.Size}
}

// keptFiles reads the kept files still ticked in the form; tokens that fail the
// signature are ignored.
func (h *Handler) keptFiles(r *http.Request) []ticket.Attachment {
	var out []ticket.Attachment
	for _, tok := range r.PostForm["kept"] {
		payload, sig, ok := strings.Cut(tok, ".")
		if !ok || !hmac.Equal([]byte(sig), []byte(h.sign("kept:"+payload))) {
			continue
		}
		b, err := base64.RawURLEncoding.DecodeString(payload)
		var c keptClaim
		if err != nil || json.Unmarshal(b, &c) != nil || len(c.S) != 64 {
			continue
		}
		out = append(out, ticket.Attachment{SHA256: c.S, Filename: c.N, ContentType: c.T, Size: c.Z})
	}
	return out
}

func (h *Handler) sign(s string) string {
	m := hmac.New(sha256.New, h.opt.Secret)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
