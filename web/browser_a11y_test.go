package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeTags are the axe-core rules the portal must pass: WCAG 2.0 and 2.1, levels A and AA,
// which RGAA 4 follows.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

var axeSkipped sync.Once

// loadAxe reads axe-core's script named by GUICHET_TEST_AXE; "" (and a message, once)
// when it is unset: the browser tests then run without the accessibility checks.
func loadAxe(t *testing.T) string {
	t.Helper()
	path := os.Getenv("GUICHET_TEST_AXE")
	if path == "" {
		axeSkipped.Do(func() {
			t.Log(`GUICHET_TEST_AXE unset: axe-core accessibility checks skipped (eval "$(.ci/axe.sh)" installs axe-core and sets it)`)
		})
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("GUICHET_TEST_AXE: %v", err)
	}
	return string(b)
}

// axeViolation is one rule that failed, as axe.run reports it.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         json.RawMessage `json:"target"`
		HTML           string          `json:"html"`
		FailureSummary string          `json:"failureSummary"`
	} `json:"nodes"`
}

// axeRun runs axe-core on the page shown and returns the violations.
func (b *browser) axeRun() ([]axeViolation, error) {
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`typeof axe === "object" || (function(){`+b.axe+`
;return true})()`)); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	tags, _ := json.Marshal(axeTags)
	js := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]})
		.then(r => JSON.stringify(r.violations))`
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var v []axeViolation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("axe-core's answer: %w", err)
	}
	return v, nil
}

// checkA11y fails the test for each axe-core violation on the page shown, with the rule,
// its impact, the elements (CSS targets) and the rule's help page.
func (b *browser) checkA11y(name string) {
	b.t.Helper()
	if b.axe == "" {
		return
	}
	v, err := b.axeRun()
	if err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	for _, x := range v {
		var nodes []string
		for _, n := range x.Nodes {
			nodes = append(nodes, fmt.Sprintf("\n\t\ttarget %s: %s\n\t\t\t%s", n.Target, n.HTML, strings.ReplaceAll(n.FailureSummary, "\n", "\n\t\t\t")))
		}
		b.t.Errorf("axe %s (%s) on %s [%s]: %s — %s%s", x.ID, x.Impact, name, b.location(), x.Help, x.HelpURL, strings.Join(nodes, ""))
	}
}

// TestBrowserAxeFinds: the axe-core run reports what it must on a page made wrong on
// purpose (no lang, an image without text, a field without label, grey on grey), so a
// clean portal page means something.
func TestBrowserAxeFinds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>x</title></head><body><main>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input type="text" name="q">
<p style="color:#aaa;background:#bbb">pâle</p></main></body></html>`)
	}))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	if b.axe == "" {
		t.Skip(`GUICHET_TEST_AXE unset: axe-core not installed (eval "$(.ci/axe.sh)")`)
	}
	b.open("/")
	v, err := b.axeRun()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, x := range v {
		found[x.ID] = true
	}
	for _, id := range []string{"html-has-lang", "image-alt", "label", "color-contrast"} {
		if !found[id] {
			t.Errorf("axe-core did not report %s (reported %v)", id, found)
		}
	}
}
