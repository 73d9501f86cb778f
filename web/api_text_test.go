package web

import (
	"net/url"
	"strings"
	"testing"
)

// A NUL (\u0000 in JSON) in an API request's text, or in a search or an Idempotency-Key,
// is stored as U+FFFD or finds nothing: never a 500 from PostgreSQL, which refuses NUL
// in text.
func TestAPIHostileText(t *testing.T) {
	for name, open := range apiStores(t) {
		t.Run(name, func(t *testing.T) {
			f := newAPIFixture(t, open(t))
			body := `{"summary": "Tableau \u0000 num\u00e9rique", "description": "Ne s'allume \u0000plus", "phone": "04\u0000", "request_type": "Incident\u0000"}`
			code, m, rec := f.do(t, f.jeanne, "POST", "/api/v1/tickets", body, "Idempotency-Key", "k\x01\xff")
			if code != 201 {
				t.Fatalf("create: %d %s", code, rec.Body)
			}
			key, _ := m["key"].(string)
			if m["summary"] != "Tableau \uFFFD numérique" || strings.Contains(m["description"].(string), "\x00") {
				t.Errorf("created %v", m)
			}
			code, _, rec = f.do(t, f.jeanne, "POST", "/api/v1/tickets/"+key+"/comments", `{"body": "merci \u0000"}`)
			if code != 201 {
				t.Fatalf("comment: %d %s", code, rec.Body)
			}
			for _, q := range []string{"?q=" + url.QueryEscape("Tableau \x00"), "?type=" + url.QueryEscape("Incident\x00"), "?q=%FF%00"} {
				if code, _, rec := f.do(t, f.jeanne, "GET", "/api/v1/tickets"+q, nil); code != 200 {
					t.Errorf("search %s: %d %s", q, code, rec.Body)
				}
			}
			if code, _, rec := f.do(t, f.jeanne, "GET", "/api/v1/tickets/"+url.PathEscape(key+"\x00"), nil); code >= 500 {
				t.Errorf("a key with a NUL: %d %s", code, rec.Body)
			}
			_, got, _ := f.do(t, f.jeanne, "GET", "/api/v1/tickets/"+key, nil)
			cs, _ := got["comments"].([]any)
			if len(cs) != 1 || cs[0].(map[string]any)["body"] != "merci \uFFFD" {
				t.Errorf("comments %v", got["comments"])
			}
		})
	}
}
