package fieldtest

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"

	"encoding/base64"
)

type mimeDecoder = mime.WordDecoder

func mimeWord(s string) string { return mime.QEncoding.Encode("utf-8", s) }

// readAllQP returns a message's text: the first text/plain part, nested multiparts
// included, its transfer encoding undone.
func readAllQP(m *mail.Message) (string, error) {
	text, ok, err := textPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	if err == nil && !ok {
		err = errors.New("no text/plain part")
	}
	return text, err
}

func textPart(ct, cte string, body io.Reader) (string, bool, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		mt = "text/plain"
	}
	if !strings.HasPrefix(mt, "multipart/") {
		if mt != "text/plain" {
			return "", false, nil
		}
		s, err := decode(body, cte)
		return s, err == nil, err
	}
	r := multipart.NewReader(body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		if s, ok, err := textPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); ok || err != nil {
			return s, ok, err
		}
	}
}

func decode(r io.Reader, cte string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}
