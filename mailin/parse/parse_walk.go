package parse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/guichet/guichet/ticket"
)

const (
	// maxTextBytes bounds the text read into memory from one message, all its text
	// parts together (body text, delivery reports, returned headers): a megabyte of
	// text is hundreds of pages, more than anyone reads in a ticket, and what is past it
	// stays in the raw message. It bounds the memory a message's parsing and storing
	// take whatever its size (each byte of text is copied a few times on its way to the
	// database).
	maxTextBytes = 1 << 20
	maxParts     = 2000 // parts visited per message
)

// walker visits the MIME tree of one message.
type walker struct {
	ctx         context.Context
	blobs       BlobWriter
	opt         Options
	parts       int
	warnings    []string
	attachments []ticket.Attachment
	blobErr     error
	dsn         *dsnInfo    // from a message/delivery-status part
	returnedID  string      // Message-ID of the message returned in a report
	forwardedID string      // Message-ID of the first attached message
	forwarded   []string    // text of attached messages, for the body
	inMessage   int         // >0 while reading an attached message: its parts are not stored
	fallback    string      // charset for raw 8-bit header bytes: the first one the message names
	textRead    int         // bytes of text read into memory so far (maxTextBytes at most)
	cuts        *[]QuoteCut // when set, receives the quote rules' cuts (inspect)
	memo        parseMemo   // header values parsed more than once
	size        int64       // of the message: no part decodes to more bytes
}

// piece is the text of one body part or alternative group.
type piece struct {
	plain    string
	html     string // raw, unsanitised
	fromHTML bool   // plain was converted from html
	// htmlSrc, when set, is the HTML that plain is still to be converted from (see
	// text): an HTML alternative beside a plain one is never converted.
	htmlSrc *string
}

// text returns the plain text of the piece, converting its HTML the first time.
func (pc *piece) text() string {
	if pc.htmlSrc != nil {
		pc.plain, pc.htmlSrc = htmlToText(*pc.htmlSrc), nil
	}
	return pc.plain
}

func (w *walker) warnf(format string, args ...any) {
	if len(w.warnings) < 100 {
		w.warnings = append(w.warnings, fmt.Sprintf(format, args...))
	}
}

// entity visits one entity: h is its header, body its still-encoded body.
func (w *walker) entity(h textproto.Header, body io.Reader, depth int, parent string) []piece {
	w.parts++
	if w.parts > maxParts {
		if w.parts == maxParts+1 {
			w.warnf("more than %d parts: the rest is skipped", maxParts)
		}
		return nil
	}
	ct := h.Get("Content-Type")
	mt, params := w.memo.mediaHeader(ct, w.fallback)
	if mt == "multipart/" {
		mt = "multipart/mixed" // RFC 2046 §5.1.3: an unknown multipart is read as mixed
	}
	if typ, sub, ok := strings.Cut(mt, "/"); !ok || typ == "" || sub == "" {
		if strings.TrimSpace(ct) != "" {
			w.warnf("unreadable Content-Type %q: read as text/plain", truncate(ct, 60))
		}
		mt, params = "text/plain", map[string]string{"charset": params["charset"]}
		if parent == "multipart/digest" && strings.TrimSpace(ct) == "" {
			mt = "message/rfc822"
		}
	}
	disp, dparams := w.memo.mediaHeader(h.Get("Content-Disposition"), w.fallback)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	p := part{h: h, mt: mt, params: params, disp: disp, name: cleanFilename(name),
		cid: parseMsgID(h.Get("Content-Id")), parent: parent, depth: depth}

	if strings.HasPrefix(mt, "multipart/") {
		return w.multipart(p, body)
	}
	dec, known := newTransferDecoder(h.Get("Content-Transfer-Encoding"), body, w.size)
	if !known {
		w.warnf("unknown transfer encoding %q: read as is", h.Get("Content-Transfer-Encoding"))
	}
	switch {
	case mt == "message/rfc822" || mt == "message/global":
		w.message(p, dec)
		return nil
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		w.deliveryStatus(dec)
		return nil
	case mt == "text/rfc822-headers" || mt == "message/global-headers":
		w.returnedHeaders(p, dec)
		return nil
	case p.isBodyText():
		return w.text(p, dec)
	case parent == "multipart/alternative" && p.name == "" && !strings.HasPrefix(mt, "image/"):
		// another rendering of the body (text/calendar, text/enriched): not a file
		_, _ = io.Copy(io.Discard, dec)
		return nil
	}
	w.store(p, dec)
	return nil
}

// part is what entity learnt about one part's headers.
type part struct {
	h      textproto.Header
	mt     string
	params map[string]string
	disp   string
	name   string
	cid    string
	parent string
	depth  int
}

// isBodyText reports whether the part is body text rather than a file.
func (p part) isBodyText() bool {
	if p.mt != "text/plain" && p.mt != "text/html" {
		return false
	}
	return p.disp != "attachment" && p.name == ""
}

// multipart visits the children of a multipart entity.
func (w *walker) multipart(p part, body io.Reader) []piece {
	if p.depth >= w.opt.MaxDepth {
		w.warnf("nesting deeper than %d: part skipped", w.opt.MaxDepth)
		_, _ = io.Copy(io.Discard, body)
		return nil
	}
	boundary := p.params["boundary"]
	if boundary == "" {
		w.warnf("%s without boundary: read as text", p.mt)
		p.mt = "text/plain"
		return w.text(p, plainDecoder{body})
	}
	mr := textproto.NewMultipartReader(body, boundary)
	var groups [][]piece
	for i := 0; ; i++ {
		child, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if i == 0 {
				w.warnf("%s: no part found", p.mt)
			} else {
				w.warnf("%s: broken part structure: %v", p.mt, err)
			}
			break
		}
		if p.mt == "multipart/signed" && i == 1 {
			w.signature(child.Header, child, p.depth+1)
			continue
		}
		groups = append(groups, w.entity(child.Header, child, p.depth+1, p.mt))
		if w.blobErr != nil {
			break
		}
	}
	if p.mt == "multipart/alternative" {
		return chooseAlternative(groups)
	}
	var out []piece
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// chooseAlternative keeps the plain text of the last alternative written as text/plain
// (else the text converted from HTML) and the HTML of the last HTML alternative.
func chooseAlternative(groups [][]piece) []piece {
	var plain, html []piece
	for _, g := range groups {
		hasPlain, hasHTML := false, false
		for _, pc := range g {
			if pc.html != "" {
				hasHTML = true
			}
			if !pc.fromHTML && strings.TrimSpace(pc.text()) != "" {
				hasPlain = true
			}
		}
		if hasPlain {
			plain = g
		}
		if hasHTML {
			html = g
		}
	}
	if plain == nil {
		return html
	}
	if html == nil {
		return plain
	}
	var b strings.Builder
	for _, pc := range html {
		b.WriteString(pc.html)
	}
	out := make([]piece, 0, len(plain))
	for i, pc := range plain {
		if i == 0 {
			pc.html = b.String()
		}
		out = append(out, pc)
	}
	return out
}

// signature stores the signature part of a multipart/signed entity as an attachment.
func (w *walker) signature(h textproto.Header, body io.Reader, depth int) {
	mt, params := parseMediaHeader(h.Get("Content-Type"), "")
	disp, dparams := parseMediaHeader(h.Get("Content-Disposition"), "")
	name := cleanFilename(dparams["filename"])
	if name == "" {
		name = cleanFilename(params["name"])
	}
	if name == "" {
		name = "signature.asc"
		if strings.Contains(mt, "pkcs7") {
			name = "smime.p7s"
		}
	}
	dec, _ := newTransferDecoder(h.Get("Content-Transfer-Encoding"), body, w.size)
	w.store(part{h: h, mt: mt, params: params, disp: disp, name: name, depth: depth}, dec)
}

// readLimited reads a body part into memory, up to what is left of the message's
// maxTextBytes.
func (w *walker) readLimited(r io.Reader, what string) []byte {
	left := maxTextBytes - w.textRead
	b, err := readAllCap(io.LimitReader(r, int64(left)+1), int(min(int64(left)+1, 4096, max(w.size, 0)+1)))
	if err != nil {
		w.warnf("%s: read error: %v", what, err)
	}
	if len(b) > left {
		w.warnf("%s: text past %d bytes in the message: truncated (the original message keeps it whole)", what, maxTextBytes)
		b = b[:left]
		_, _ = io.Copy(io.Discard, r)
	}
	w.textRead += len(b)
	return b
}

// readAllCap is io.ReadAll into a buffer of n bytes at first, doubled when full: a
// mail's text fits in the first one, where ReadAll grows from 512 bytes in several
// allocations and copies.
func readAllCap(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, 0, n)
	for {
		k, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// readHeaderOnly reads a header block from r.
func readHeaderOnly(r io.Reader) (textproto.Header, *bufio.Reader) {
	br := bufio.NewReader(r)
	h, _ := readHeaderLenient(br)
	return h, br
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
