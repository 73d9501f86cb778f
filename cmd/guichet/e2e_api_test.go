package main

import (
	"encoding/json"
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
	resp, m := get("/api/v1/tickets/AURAN1-1", token)
	if resp.StatusCode != 200 || m["key"] != "AURAN1-1" || m["summary"] != "Par l'API" || m["status"] != "new" {
		t.Fatalf("GET ticket: %d %v", resp.StatusCode, m)
	}
}
