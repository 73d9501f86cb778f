package parse

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"path"
	"strings"
	"unicode"

	htmlcharset "golang.org/x/net/html/charset"

	"github.com/guichet/guichet/ticket"
)

// text reads a body text part and returns it as a piece.
func (w *walker) text(p part, dec transferDecoder) []piece {
	b := w.readLimited(dec, p.mt)
	if dec.broken() {
		w.warnf("%s: damaged %s encoding: kept what could be read", p.mt, strings.ToLower(p.h.Get("Content-Transfer-Encoding")))
	}
	cs := p.params["charset"]
	if cs == "" && p.mt == "text/html" {
		if _, name, certain := htmlcharset.DetermineEncoding(b, "text/html"); certain {
			cs = name
		}
	}
	s, known := convertText(cs, b)
	if !known {
		w.warnf("unknown charset %q: read as UTF-8 or Windows-1252", cs)
	}
	if p.mt == "text/html" {
		return []piece{{html: s, fromHTML: true, htmlSrc: &s}} // converted when needed
	}
	if strings.EqualFold(p.params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(p.params["delsp"], "yes"))
	}
	s = w.extractUU(s)
	return []piece{{plain: s}}
}

// store streams a part into the BlobWriter and records it as an attachment.
func (w *walker) store(p part, r io.Reader) {
	if w.blobErr != nil || w.inMessage > 0 {
		// files of an attached message stay inside its .eml
		_, _ = io.Copy(io.Discard, r)
		return
	}
	src := &partSource{r: r}
	sum, size, err := w.blobs.PutBlob(w.ctx, src)
	if err != nil {
		// src ends the content with io.EOF at the message's own read errors, so this
		// one is the BlobWriter's: a storage failure.
		w.blobErr = err
		return
	}
	if d, ok := r.(transferDecoder); ok && d.broken() {
		w.warnf("%s: damaged %s encoding: kept what could be read", nameOr(p.name, p.mt), strings.ToLower(p.h.Get("Content-Transfer-Encoding")))
	}
	name := p.name
	if name == "" {
		name = "attachment" + extensionFor(p.mt)
	}
	w.noteTruncated(name, src, size)
	w.attachments = append(w.attachments, ticket.Attachment{
		Filename:    name,
		ContentType: p.mt,
		Size:        size,
		SHA256:      sum,
		Inline:      p.disp == "inline" || p.disp == "" && p.cid != "",
		ContentID:   p.cid,
		Truncated:   src.err != nil,
	})
}

// partReadError is an error met while reading a part's content from the message
// itself (no closing boundary, the data ends inside the part): the message's fault,
// never the storage's. partSource tags such errors with this type.
type partReadError struct{ err error }

func (e *partReadError) Error() string { return "mailin: part cut off: " + e.err.Error() }
func (e *partReadError) Unwrap() error { return e.err }

// partSource is what a BlobWriter reads a part from. At the message's first read error
// it keeps that error (as a *partReadError) and ends the content with io.EOF: the
// BlobWriter stores what was received, and any error it returns is its own (disk,
// database), so that a message cut off inside an attachment is not retried forever
// as if the disk were full.
type partSource struct {
	r   io.Reader
	err *partReadError
}

func (s *partSource) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, io.EOF
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = &partReadError{err: err}
		return n, io.EOF
	}
	return n, err
}

// noteTruncated warns about a part that src could not read to its end.
func (w *walker) noteTruncated(name string, src *partSource, size int64) {
	if src.err != nil {
		w.warnf("%s: cut off after %d bytes (%v): kept what was received", name, size, src.err.err)
	}
}

// message visits an attached message: it is stored as an .eml attachment while its
// header and text are read from the same stream. Its text goes into the forwarded
// section of the body, except for a message returned in a delivery report.
func (w *walker) message(p part, r io.Reader) {
	if p.depth >= w.opt.MaxDepth {
		w.warnf("nesting deeper than %d: attached message stored unread", w.opt.MaxDepth)
		w.store(p, r)
		return
	}
	if w.inMessage > 0 || w.blobErr != nil {
		h, br := readHeaderOnly(r)
		sub := &ticket.Inbound{}
		w.fillHeader(sub, h)
		w.inMessage++
		pieces := w.entity(h, br, p.depth+1, p.mt)
		w.inMessage--
		if p.parent != "multipart/report" {
			w.forwarded = append(w.forwarded, forwardedText(sub, pieces))
		}
		return
	}
	pr, pw := io.Pipe()
	type result struct {
		sum  string
		size int64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if rec := recover(); rec != nil {
				res.err = errors.New("mailin: blob writer panicked")
			}
			pr.CloseWithError(errBlobDone)
			done <- res
		}()
		res.sum, res.size, res.err = w.blobs.PutBlob(w.ctx, pr)
	}()
	src := &partSource{r: r}
	tee := io.TeeReader(src, pw)
	var sub *ticket.Inbound
	var pieces []piece
	func() {
		defer func() { _ = pw.CloseWithError(io.EOF) }()
		h, br := readHeaderOnly(tee)
		sub = &ticket.Inbound{}
		w.fillHeader(sub, h)
		if h.Len() > 0 {
			w.inMessage++
			pieces = w.entity(h, br, p.depth+1, p.mt)
			w.inMessage--
		}
		_, _ = io.Copy(io.Discard, tee)
	}()
	res := <-done
	if res.err != nil && w.blobErr == nil {
		w.blobErr = res.err
		return
	}
	name := p.name
	if name == "" {
		name = cleanFilename(sub.Subject)
		if name == "" {
			name = "message"
		}
		name += ".eml"
	}
	w.noteTruncated(name, src, res.size)
	w.attachments = append(w.attachments, ticket.Attachment{
		Filename: name, ContentType: p.mt, Size: res.size, SHA256: res.sum,
		Inline: false, ContentID: p.cid, Truncated: src.err != nil,
	})
	if p.parent == "multipart/report" {
		w.returnedID = sub.MessageID
		return
	}
	if w.forwardedID == "" {
		w.forwardedID = sub.MessageID
	}
	w.forwarded = append(w.forwarded, forwardedText(sub, pieces))
}

var errBlobDone = errors.New("mailin: blob writer stopped reading")

// returnedHeaders reads a text/rfc822-headers part (the header of a bounced message).
func (w *walker) returnedHeaders(p part, r io.Reader) {
	b := w.readLimited(r, p.mt)
	h, _ := readHeaderOnly(bytes.NewReader(b))
	if id := parseMsgID(h.Get("Message-Id")); id != "" {
		w.returnedID = id
	}
	if p.name == "" {
		p.name = "headers.txt"
	}
	w.store(p, bytes.NewReader(b))
}

// cleanFilename keeps the base name of a file name and drops control characters.
func cleanFilename(s string) string {
	s = strings.ReplaceAll(s, "\\", "/")
	if strings.Contains(s, "/") {
		s = path.Base(s)
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." || s == "/" { // path.Base of a name of slashes alone is "/"
		return ""
	}
	return s
}

var commonExt = map[string]string{
	"image/png": ".png", "image/jpeg": ".jpg", "image/jpg": ".jpg", "image/gif": ".gif",
	"image/webp": ".webp", "image/bmp": ".bmp", "image/tiff": ".tif", "image/svg+xml": ".svg",
	"application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html", "text/calendar": ".ics",
	"application/ics": ".ics", "application/zip": ".zip", "application/pgp-signature": ".asc",
	"application/pkcs7-signature": ".p7s", "application/x-pkcs7-signature": ".p7s",
	"application/pkcs7-mime": ".p7m", "application/x-pkcs7-mime": ".p7m", "message/rfc822": ".eml",
	"application/ms-tnef": ".dat", "text/csv": ".csv",
}

// extensionFor returns a file extension for a media type (".bin" when unknown).
func extensionFor(mt string) string {
	if e, ok := commonExt[mt]; ok {
		return e
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

func nameOr(name, alt string) string {
	if name != "" {
		return name
	}
	return alt
}

// mimeByName guesses a media type from a file name.
func mimeByName(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		mt, _, _ := strings.Cut(t, ";")
		return mt
	}
	return "application/octet-stream"
}
