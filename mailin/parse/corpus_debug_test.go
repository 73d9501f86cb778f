package parse

import (
	"context"
	"encoding/json"
	"os"
	"testing"
)

// TestDebugInspect prints the inspect JSON of the file in GUICHET_INSPECT (a tool for
// looking at one message; skipped otherwise).
func TestDebugInspect(t *testing.T) {
	p := os.Getenv("GUICHET_INSPECT")
	if p == "" {
		t.Skip("set GUICHET_INSPECT to a message file")
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Inspect(context.Background(), raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	t.Log(string(b))
}
