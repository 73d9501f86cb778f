package parse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	_ "github.com/emersion/go-message/charset" // every charset for go-message
	"github.com/emersion/go-message/textproto"

	"github.com/guichet/guichet/ticket"
)

// BlobWriter stores attachment content addressed by its SHA-256. PutBlob reads r to its
// end and returns the lower-case hex SHA-256 and the size of what it read; an error is a
// storage failure and makes Message fail (the raw message stays stored for a retry).
// Message makes one PutBlob call at a time; for an attached message/rfc822 part the call
// runs in a goroutine of Message while the parser reads the same bytes through a pipe.
type BlobWriter interface {
	PutBlob(ctx context.Context, r io.Reader) (sha256hex string, size int64, err error)
}

// HashOnly is a BlobWriter that stores nothing: it only hashes and counts (for inspect).
type HashOnly struct{}

// PutBlob hashes and counts r.
func (HashOnly) PutBlob(_ context.Context, r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, fmt.Errorf("mailin: hash blob: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

var _ BlobWriter = HashOnly{}

// Options tunes Message. The zero value is usable.
type Options struct {
	// MaxDepth caps the nesting of multiparts and attached messages (default 20).
	MaxDepth int
	// LoopHeader is the header Guichet puts on its own mail (default "X-Guichet-Loop").
	LoopHeader string
	// LoopValue is the value Guichet puts in LoopHeader (e.g. the support address). A
	// mail carrying it is Guichet's own coming back. Empty: any value counts.
	LoopValue string
	// SupportAddresses are the addresses customers write to.
	SupportAddresses []string
	// EnvelopeFrom is the SMTP MAIL FROM (or its equivalent), when HasEnvelope is set.
	EnvelopeFrom string
	// HasEnvelope tells that EnvelopeFrom is known, so that an empty one means a
	// bounce (MAIL FROM:<>).
	HasEnvelope bool
	// AuthServID is our authserv-id: only the Authentication-Results fields that our
	// MTA added under this id count (see trustedResults for the rule). Empty: none do.
	AuthServID string
	// TrustedRelays are the SMTP/LMTP clients trusted to add Authentication-Results
	// (the MTA in front). Empty: no SMTP/LMTP client is.
	TrustedRelays []netip.Prefix
	// Channel ("smtp", "lmtp", "ingest", "imap"; "" reads like "ingest") and RemoteAddr
	// (the SMTP/LMTP client's "ip:port") tell who wrote the top of the header;
	// mailin's Intake sets them for each message from its Envelope.
	Channel    string
	RemoteAddr string
	// CheckDKIM verifies DKIM signatures ourselves when no Authentication-Results of
	// ours counts.
	CheckDKIM bool
	// LookupTXT looks up DNS TXT records for CheckDKIM (nil: net.DefaultResolver).
	LookupTXT func(ctx context.Context, domain string) ([]string, error)
}

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 20
	}
	if o.LoopHeader == "" {
		o.LoopHeader = "X-Guichet-Loop"
	}
	return o
}

// ErrNoHeader is returned by Message for input without a readable header.
var ErrNoHeader = errors.New("mailin: no message header")

// ErrStore wraps a BlobWriter failure returned by Message (check with errors.Is): the
// message itself is fine and is worth a retry.
var ErrStore = errors.New("mailin: store attachment")

// Message reads one raw message. Attachments (and inline images, and forwarded messages
// as .eml files) are streamed into blobs; their content is never copied whole in
// memory. A forwarded message/rfc822 part is stored by a PutBlob call running in its
// own goroutine while the parser reads the same bytes. Message never panics; see the
// package documentation for what it tolerates.
func Message(ctx context.Context, raw []byte, blobs BlobWriter, opt Options) (*ticket.Inbound, error) {
	return message(ctx, bytes.NewReader(raw), int64(len(raw)), raw, blobs, opt, nil)
}

// MessageAt is Message reading the size bytes of r (a spool record, a file) in pieces:
// the message is never held whole in memory, only its header, each text part (up to
// maxTextBytes) and fixed buffers.
func MessageAt(ctx context.Context, r io.ReaderAt, size int64, blobs BlobWriter, opt Options) (*ticket.Inbound, error) {
	return message(ctx, r, size, nil, blobs, opt, nil)
}

// message is MessageAt; raw, when not nil, is the whole message already in memory (the
// same bytes as r), read directly where MessageAt reads pieces; cuts, when not nil,
// receives what the quote rules removed from the visible text, and which rule removed
// it (for inspect).
func message(ctx context.Context, r io.ReaderAt, size int64, raw []byte, blobs BlobWriter, opt Options, cuts *[]QuoteCut) (in *ticket.Inbound, err error) {
	opt = opt.withDefaults()
	defer func() {
		if r := recover(); r != nil {
			if in != nil && (in.From.Email != "" || in.Subject != "" || in.Text != "") {
				in.Warnings = append(in.Warnings, fmt.Sprintf("parser stopped early: %v", r))
				err = nil
				return
			}
			in, err = nil, fmt.Errorf("mailin: parse: panic: %v", r)
		}
	}()
	var off int64
	if raw != nil {
		off = int64(len(raw) - len(skipMboxLine(raw)))
	} else {
		off = mboxSkipAt(r, size)
	}
	body := func() io.Reader { return io.NewSectionReader(r, off, size-off) }
	// bufio's 4 KB, or less for a smaller message: nothing is gained by more buffer
	// than there are bytes (a multipart body is read through buffers of its own)
	br := bufio.NewReaderSize(body(), int(min(4096, max(16, size-off))))
	h, warns := readHeaderLenient(br)
	if h.Len() == 0 {
		return nil, ErrNoHeader
	}
	var fallback string
	if raw != nil {
		fallback = firstCharset(raw)
	} else {
		fallback = firstCharsetAt(r, size)
	}
	w := &walker{ctx: ctx, blobs: blobs, opt: opt, warnings: warns, fallback: fallback, cuts: cuts, size: size - off}
	in = &ticket.Inbound{}
	w.fillHeader(in, h)
	pieces := w.entity(h, br, 0, "")
	if w.blobErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, w.blobErr)
	}
	w.fillBody(in, pieces)
	in.Automatic, in.AutoReason = detectAutomatic(&h, opt.EnvelopeFrom, opt.HasEnvelope, opt, &w.memo)
	in.Bounce = w.bounce(in)
	if in.Bounce != nil && !in.Automatic {
		in.Automatic, in.AutoReason = true, "dsn"
	}
	var header []byte
	if raw != nil {
		header = raw[off:] // read up to its blank line
	} else {
		header = headerBytes(body())
	}
	in.Auth = checkAuth(ctx, header, body, in.From.Email, opt)
	in.Attachments = w.attachments
	in.Warnings = append(in.Warnings, w.warnings...)
	return in, nil
}

// mboxHead is how much of a message's start mboxSkipAt looks at.
const mboxHead = 64 << 10

// mboxSkipAt returns where the message of r begins after the blank lines and mbox
// "From " line that skipMboxLine drops.
func mboxSkipAt(r io.ReaderAt, size int64) int64 {
	head := make([]byte, min(size, mboxHead))
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	return int64(len(head) - len(skipMboxLine(head)))
}

// maxHeaderScan bounds the header section that headerBytes reads.
const maxHeaderScan = 1 << 20

// headerBytes reads r's header section up to its blank line (included), at most
// maxHeaderScan bytes of it.
func headerBytes(r io.Reader) []byte {
	var buf []byte
	chunk := make([]byte, 16<<10)
	for len(buf) < maxHeaderScan {
		n, err := r.Read(chunk)
		from := max(0, len(buf)-3)
		buf = append(buf, chunk[:n]...)
		if i := bytes.Index(buf[from:], []byte("\n\n")); i >= 0 {
			return buf[:from+i+2]
		}
		if i := bytes.Index(buf[from:], []byte("\n\r\n")); i >= 0 {
			return buf[:from+i+3]
		}
		if err != nil {
			break
		}
	}
	return buf
}

// skipMboxLine drops a leading mbox "From " line.
func skipMboxLine(raw []byte) []byte {
	raw = bytes.TrimLeft(raw, "\r\n")
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

// readHeaderLenient reads a header, skipping malformed lines (with a warning) instead of
// stopping at the first one.
func readHeaderLenient(br *bufio.Reader) (textproto.Header, []string) {
	var warns []string
	h, err := textproto.ReadHeader(br)
	for tries := 0; err != nil && tries < 100; tries++ {
		if !strings.Contains(err.Error(), "malformed") {
			break
		}
		line := strings.TrimSpace(strings.TrimPrefix(err.Error(), "message: malformed MIME header line: "))
		if ct := h.Get("Content-Type"); strings.HasSuffix(strings.TrimSpace(ct), ";") && strings.Contains(line, "=") {
			h.Set("Content-Type", ct+" "+line) // a parameter line that lost its folding
		} else {
			warns = append(warns, "malformed header line skipped")
		}
		more, err2 := textproto.ReadHeader(br)
		for f := more.Fields(); f.Next(); {
			h.Add(f.Key(), f.Value())
		}
		err = err2
	}
	return h, warns
}
