package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestEndToEndAPI: the binary serves the JSON API with tokens from `guichet token create`.
func TestEndToEndAPI(t *testing.T) {
	h := startHarness(t)
	code, out, errs := h.cli("", "token", "create", "alice@support.test", "--name", "test")
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errs)
	}
	token := strings.TrimSpace(out)
	if !strings.HasPrefix(token, "gch_") {
		t.Fatalf("token %q", token)
	}
	if err := h.send("jeanne@ecole.test", "From: jeanne@ecole.test\nTo: support@localhost\nSubject: Par l'API\nMessage-ID: <api1@ecole.test>\n\nBonjour\n"); err != nil {
		t.Fatal(err)
	}
	get := func(path, tok string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("GET", "http://"+h.httpAddr+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	if resp, _ := get("/api/v1/tickets", ""); resp.StatusCode != 401 {
		t.Fatalf("without a token: %d", resp.StatusCode)
	}
	// The metrics count what the store holds.
	mresp, err := http.Get("http://" + h.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`guichet_tickets{status="new"} 1`, `guichet_inbound_messages{state="processed"} 1`, `guichet_mail_taken_total{channel="smtp",outcome="stored"} 1`, `guichet_mail_processed_total{outcome="ticket_created"} 1`, "guichet_intake_backlog 0", "guichet_outbox_oldest_pending_seconds", "guichet_stats_up 1"} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	resp, m := get("/api/v1/tickets/AURAN1-1", token)
	if resp.StatusCode != 200 || m["key"] != "AURAN1-1" || m["summary"] != "Par l'API" || m["status"] != "new" {
		t.Fatalf("GET ticket: %d %v", resp.StatusCode, m)
	}
}
