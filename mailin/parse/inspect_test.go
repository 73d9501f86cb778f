package parse

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
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
