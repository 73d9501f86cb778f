package parse

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"strings"

	gmcharset "github.com/emersion/go-message/charset"
)

// charsetReader converts a charset to UTF-8 with go-message's table.
func charsetReader(cs string, r io.Reader) (io.Reader, error) {
	return gmcharset.Reader(strings.ToLower(cs), r)
}

// transferDecoder undoes a Content-Transfer-Encoding leniently. broken reports, once
// the body has been read, whether the encoding was damaged.
type transferDecoder interface {
	io.Reader
	broken() bool
}

type plainDecoder struct{ io.Reader }

func (plainDecoder) broken() bool { return false }

// newTransferDecoder returns a decoder for enc; known is false for an encoding it does
// not know (the body is then passed through). left bounds the bytes r has left (-1:
// unknown).
func newTransferDecoder(enc string, r io.Reader, left int64) (d transferDecoder, known bool) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		return &base64Decoder{src: lineReader(r, left)}, true
	case "quoted-printable":
		return &qpDecoder{src: lineReader(r, left)}, true
	case "x-uuencode", "uuencode", "x-uue":
		return &uuDecoder{src: lineReader(r, left)}, true
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return plainDecoder{r}, true
	}
	return plainDecoder{r}, false
}

// lineReader is bufio.NewReader(r), or r itself when it is a bufio.Reader at least as
// large as the whole message, left bytes (the message's reader, smaller than 4 KB for a
// small message): what r has left, after the header, fills neither buffer, and lines
// are read the same from both.
func lineReader(r io.Reader, left int64) *bufio.Reader {
	if b, ok := r.(*bufio.Reader); ok && left >= 0 && int64(b.Size()) >= left {
		return b
	}
	return bufio.NewReader(r)
}

// base64Decoder decodes base64, skipping characters outside the alphabet (and
// recording them), and restarting after padding (concatenated chunks). It filters each
// chunk read into the alphabet, then decodes whole quads at once.
type base64Decoder struct {
	src   *bufio.Reader
	quad  []byte // alphabet characters not decoded yet
	out   []byte // decoded bytes not returned yet
	junk  int
	eof   bool
	inBuf [4096]byte
	buf   []byte // backing array of out, reused once out is drained
}

func (d *base64Decoder) broken() bool { return d.junk > 0 }

// Classes of bytes in base64 text.
const (
	b64Junk = iota
	b64Alphabet
	b64Space
	b64Pad
	b64Minus
	b64Underscore
)

var b64Class = func() (t [256]uint8) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = b64Alphabet
	}
	for _, c := range []byte(" \t\r\n") {
		t[c] = b64Space
	}
	t['='], t['-'], t['_'] = b64Pad, b64Minus, b64Underscore
	return t
}()

func (d *base64Decoder) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.eof {
			return 0, io.EOF
		}
		if d.buf == nil {
			d.buf = make([]byte, 0, len(d.inBuf)*3/4+3)
			d.quad = make([]byte, 0, len(d.inBuf)+4)
		}
		d.out = d.buf[:0]
		n, err := d.src.Read(d.inBuf[:])
		q, j := d.quad[:cap(d.quad)], len(d.quad)
		for _, c := range d.inBuf[:n] {
			switch b64Class[c] {
			case b64Alphabet:
				q[j] = c
				j++
			case b64Space:
			case b64Pad:
				d.quad = q[:j]
				d.flush()
				j = 0
			case b64Minus: // base64url in the wild
				q[j] = '+'
				j++
			case b64Underscore:
				q[j] = '/'
				j++
			default:
				d.junk++
			}
		}
		d.quad = q[:j]
		d.decodeQuads()
		if err != nil {
			d.flush()
			d.eof = true
			if err != io.EOF {
				return d.drain(p, err)
			}
		}
	}
	return d.drain(p, nil)
}

func (d *base64Decoder) drain(p []byte, err error) (int, error) {
	n := copy(p, d.out)
	d.out = d.out[n:]
	if err != nil && len(d.out) == 0 {
		return n, err
	}
	return n, nil
}

// decodeQuads decodes the whole quads pending and keeps the rest (up to 3 characters).
func (d *base64Decoder) decodeQuads() {
	whole := len(d.quad) / 4 * 4
	if whole == 0 {
		return
	}
	n := len(d.out)
	d.out = append(d.out, make([]byte, whole/4*3)...) // within buf's capacity
	// Every character is in the alphabet and the length is a multiple of 4: no error.
	m, _ := base64.RawStdEncoding.Decode(d.out[n:], d.quad[:whole])
	d.out = d.out[:n+m]
	d.quad = d.quad[:copy(d.quad, d.quad[whole:])]
}

// flush decodes every pending character: the whole quads, then a partial one (a single
// character left over is junk).
func (d *base64Decoder) flush() {
	d.decodeQuads()
	if len(d.quad) == 0 {
		return
	}
	if len(d.quad) == 1 {
		d.junk++
		d.quad = d.quad[:0]
		return
	}
	var buf [3]byte
	n, err := base64.RawStdEncoding.Decode(buf[:], d.quad)
	if err != nil {
		d.junk++
	}
	d.out = append(d.out, buf[:n]...)
	d.quad = d.quad[:0]
}

// qpDecoder decodes quoted-printable line by line; a '=' that starts no valid escape
// is kept as it is.
type qpDecoder struct {
	src *bufio.Reader
	out []byte
	buf []byte // backing array of out, reused once out is drained
	eof bool
	err error // a read error, returned once out is drained
}

func (d *qpDecoder) broken() bool { return false }

func (d *qpDecoder) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.eof {
			if d.err != nil {
				return 0, d.err
			}
			return 0, io.EOF
		}
		line, err := d.src.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = nil
		} else if err != nil {
			d.eof = true
			if err != io.EOF {
				d.err = err
			}
		}
		d.buf = appendQPLine(d.buf[:0], line)
		d.out = d.buf
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

func appendQPLine(dst, line []byte) []byte {
	hardBreak := bytes.HasSuffix(line, []byte("\n"))
	line = bytes.TrimRight(line, "\r\n")
	trimmed := bytes.TrimRight(line, " \t")
	soft := bytes.HasSuffix(trimmed, []byte("="))
	if soft {
		line = trimmed[:len(trimmed)-1]
	} else if hardBreak {
		line = trimmed
	}
	for len(line) > 0 {
		i := bytes.IndexByte(line, '=')
		if i < 0 {
			dst = append(dst, line...)
			break
		}
		dst = append(dst, line[:i]...)
		if i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
			dst = append(dst, unhex(line[i+1])<<4|unhex(line[i+2]))
			line = line[i+3:]
		} else {
			dst = append(dst, '=') // starts no escape: kept
			line = line[i+1:]
		}
	}
	if hardBreak && !soft {
		dst = append(dst, '\n')
	}
	return dst
}

// uuDecoder decodes a uuencoded body ("begin mode name" … "end").
type uuDecoder struct {
	src     *bufio.Reader
	out     []byte
	started bool
	eof     bool
	bad     bool
}

func (d *uuDecoder) broken() bool { return d.bad }

func (d *uuDecoder) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.eof {
			return 0, io.EOF
		}
		line, err := d.src.ReadString('\n')
		if err != nil {
			d.eof = true
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case !d.started:
			d.started = strings.HasPrefix(line, "begin ")
		case line == "end":
			d.eof = true
		default:
			b, ok := uuLine(line)
			if !ok {
				d.bad = true
			}
			d.out = append(d.out, b...)
		}
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// uuLine decodes one uuencoded line.
func uuLine(line string) ([]byte, bool) {
	if line == "" {
		return nil, true
	}
	n := int((line[0] - ' ') & 0x3f)
	var out []byte
	ok := true
	for i := 1; i < len(line) && len(out) < n; i += 4 {
		var q [4]byte
		for j := 0; j < 4; j++ {
			if i+j < len(line) {
				c := line[i+j]
				if c < ' ' || c > '`' {
					ok = false
				}
				q[j] = (c - ' ') & 0x3f
			}
		}
		out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
	}
	if len(out) > n {
		out = out[:n]
	}
	return out, ok
}
