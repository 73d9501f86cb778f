package mailout

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-message"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// DefaultLoopHeader is the header that marks Guichet's own mail, so that mailin never
// answers it.
const DefaultLoopHeader = "X-Guichet-Loop"

// BlobReader opens the content of a stored attachment, known by its SHA256. The ticket
// store's blobs implement it.
type BlobReader interface {
	OpenBlob(ctx context.Context, sha256 string) (io.ReadCloser, error)
}

// BuildOptions are the settings of Build.
type BuildOptions struct {
	// From is the support address (support@example.org), the sender of every mail and
	// the Reply-To when the mail has no signed reply address. Required.
	From string
	// LoopHeader names the loop header; DefaultLoopHeader when empty.
	LoopHeader string
	// Blobs reads the attachments of m.Data.Attachments. Required when there are some.
	Blobs BlobReader
	// Date is the mail's Date; time.Now() when zero.
	Date time.Time
	// Boundary, when set, makes the multipart boundaries fixed (Boundary + "-alt" and
	// Boundary + "-mixed"), for reproducible output in tests. Random when empty.
	Boundary string
}

// Build builds the RFC 5322 message of an outbox mail from its rendered texts: headers,
// a multipart/alternative text and HTML body in UTF-8 (quoted-printable) and, when the
// mail has attachments, a multipart/mixed message with the files (base64). Attachments
// are read with context.Background; see BuildContext.
func Build(m *ticket.OutboxMail, r templates.Rendered, opt BuildOptions) ([]byte, error) {
	return BuildContext(context.Background(), m, r, opt)
}

// BuildContext is Build with a context for reading attachments.
//
// Names and subjects are reduced to one line, so no header can be injected through
// them. Errors are permanent (see IsTemporary), except failures to read an attachment
// that exists.
func BuildContext(ctx context.Context, m *ticket.OutboxMail, r templates.Rendered, opt BuildOptions) ([]byte, error) {
	h, err := buildHeader(m, r, opt)
	if err != nil {
		return nil, permanent(err)
	}
	boundary := func(suffix string) string {
		if opt.Boundary != "" {
			return opt.Boundary + "-" + suffix
		}
		return randomBoundary()
	}
	var b bytes.Buffer // returned as is: a large mail is held once
	b.Grow(sizeHint(m, r))
	if len(m.Data.Attachments) == 0 {
		h.SetContentType("multipart/alternative", map[string]string{"boundary": boundary("alt")})
		w, err := message.CreateWriter(&b, h.Header)
		if err != nil {
			return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
		}
		if err := writeAlternative(w, r); err != nil {
			return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
		}
		if err := w.Close(); err != nil {
			return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
		}
		return b.Bytes(), nil
	}

	if opt.Blobs == nil {
		return nil, permanent(fmt.Errorf("mailout: build %d: attachments but no blob reader", m.ID))
	}
	h.SetContentType("multipart/mixed", map[string]string{"boundary": boundary("mixed")})
	w, err := message.CreateWriter(&b, h.Header)
	if err != nil {
		return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
	}
	var alt message.Header
	alt.SetContentType("multipart/alternative", map[string]string{"boundary": boundary("alt")})
	aw, err := w.CreatePart(alt)
	if err != nil {
		return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
	}
	if err := writeAlternative(aw, r); err != nil {
		return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
	}
	if err := aw.Close(); err != nil {
		return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
	}
	for _, a := range m.Data.Attachments {
		if err := writeAttachment(ctx, w, a, opt.Blobs); err != nil {
			return nil, fmt.Errorf("mailout: build %d: %w", m.ID, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, permanent(fmt.Errorf("mailout: build %d: %w", m.ID, err))
	}
	return b.Bytes(), nil
}

// sizeHint guesses the size of the built mail, so that its buffer is allocated once
// rather than doubled from nothing: headers, the bodies in quoted-printable (accents
// take 6 bytes for 2, soft line breaks 3 per 76), attachments in base64 lines.
func sizeHint(m *ticket.OutboxMail, r templates.Rendered) int {
	n := 2048 + (len(r.Text)+len(r.HTML))*5/4
	for _, a := range m.Data.Attachments {
		if a.Size > 0 && a.Size < 64<<20 {
			n += 512 + int(a.Size)*4/3*78/76
		}
	}
	return n
}

// writeAlternative writes the text and HTML parts into a multipart/alternative writer.
func writeAlternative(w *message.Writer, r templates.Rendered) error {
	for _, p := range []struct{ typ, body string }{{"text/plain", r.Text}, {"text/html", r.HTML}} {
		var h message.Header
		h.SetContentType(p.typ, map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := w.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, p.body); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writeAttachment writes one file as a base64 part, its name in RFC 2231 form when it
// is not ASCII.
func writeAttachment(ctx context.Context, w *message.Writer, a ticket.Attachment, blobs BlobReader) error {
	name := attachmentName(a.Filename)
	typ := a.ContentType
	if _, _, err := mime.ParseMediaType(typ); err != nil || typ == "" || strings.HasPrefix(typ, "multipart/") {
		typ = "application/octet-stream"
	}
	ct := mime.FormatMediaType(typ, map[string]string{"name": name})
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if ct == "" || cd == "" {
		return permanent(fmt.Errorf("attachment %q: cannot format its headers", a.Filename))
	}
	var h message.Header
	// Set raw: go-message would encode the parameters as encoded-words, not RFC 2231.
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", cd)
	h.Set("Content-Transfer-Encoding", "base64")

	rc, err := blobs.OpenBlob(ctx, a.SHA256)
	if err != nil {
		err = fmt.Errorf("attachment %q: %w", a.Filename, err)
		if errors.Is(err, fs.ErrNotExist) {
			return permanent(err)
		}
		return err
	}
	defer rc.Close()
	pw, err := w.CreatePart(h)
	if err != nil {
		return permanent(err)
	}
	if _, err := io.Copy(pw, rc); err != nil {
		return fmt.Errorf("attachment %q: %w", a.Filename, err)
	}
	return pw.Close()
}

// attachmentName cleans a file name: one line, no folder, never empty.
func attachmentName(name string) string {
	name = oneLine(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name = strings.TrimSpace(name); name == "" || name == "." || name == ".." {
		return "attachment"
	}
	return name
}

func randomBoundary() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return "guichet-" + hex.EncodeToString(b[:])
}

// oneLine turns control characters (CR, LF, tab, …) into spaces and collapses runs of
// spaces, so that a value fits in one header line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
