package parse

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspectJSON(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join("testdata", "parse", "dsn.eml"))
	r, err := Inspect(context.Background(), raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"from", "to", "cc", "subject", "summary", "message_id", "thread_key", "automatic", "text", "visible", "attachments", "warnings", "bounce"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing in %s", k, b)
		}
	}
	auto := m["automatic"].(map[string]any)
	if auto["value"] != true || auto["reason"] != "dsn" {
		t.Errorf("automatic %v", auto)
	}
	from := m["from"].(map[string]any)
	if from["address"] != "MAILER-DAEMON@mx.example.com" {
		t.Errorf("from %v", from)
	}
}

type failingBlobs struct{}

func (failingBlobs) PutBlob(_ context.Context, r io.Reader) (string, int64, error) {
	_, _ = io.CopyN(io.Discard, r, 3)
	return "", 0, errors.New("disk full")
}

func TestParseStoreError(t *testing.T) {
	for _, f := range []string{"rfc2231.eml", "forward.eml"} {
		raw, _ := os.ReadFile(filepath.Join("testdata", "parse", f))
		_, err := Message(context.Background(), raw, failingBlobs{}, Options{})
		if !errors.Is(err, ErrStore) {
			t.Errorf("%s: err = %v, want ErrStore", f, err)
		}
	}
}

// TestInspectQuoteCuts checks that inspect says which rule removed what: a text rule
// for a plain reply, the HTML structure for an HTML one.
func TestInspectQuoteCuts(t *testing.T) {
	plain := "From: Jeanne <jeanne@lycee.fr>\r\nTo: support@lycee.fr\r\nSubject: Re: Projector\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Fixed, thanks.\r\n\r\nOp za 20 jul. 2013 om 10:00 schreef Support <support@lycee.fr>:\r\n> Is it fixed?\r\n"
	html := "From: Jeanne <jeanne@lycee.fr>\r\nTo: support@lycee.fr\r\nSubject: Re: Projector\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		`<div>Fixed, thanks.</div><div class="gmail_quote"><div class="gmail_attr">On Sat, Jul 20, 2013 at 10:00 AM Support wrote:</div><blockquote class="gmail_quote">Is it fixed?</blockquote></div>`
	for _, c := range []struct{ name, raw, rule string }{
		{"plain", plain, "attribution"},
		{"html", html, "html:gmail_quote"},
	} {
		r, err := Inspect(context.Background(), []byte(c.raw), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Visible != "Fixed, thanks." {
			t.Errorf("%s: visible %q", c.name, r.Visible)
		}
		if len(r.QuoteCuts) != 1 || r.QuoteCuts[0].Rule != c.rule || !strings.Contains(r.QuoteCuts[0].Text, "Is it fixed?") {
			t.Errorf("%s: quote_cuts %+v, want one %q holding the quote", c.name, r.QuoteCuts, c.rule)
		}
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), `"quote_cuts":[{"rule":"`+c.rule+`"`) {
			t.Errorf("%s: JSON %s", c.name, b)
		}
	}
}
