package mailin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

// authMessage builds a message with the given header lines above a fixed From.
func authMessage(from string, hdr ...string) []byte {
	return []byte(strings.Join(hdr, "\r\n") + "\r\nFrom: " + from + "\r\nTo: support@example.org\r\nSubject: test\r\n\r\nbody\r\n")
}

const (
	ourHop   = "Received: from mx.example.org ([127.0.0.1])\r\n\tby example.org (Guichet) with ESMTP; Tue, 3 Mar 2026 10:00:00 +0100"
	entryHop = "Received: from mail.lycee.fr (mail.lycee.fr [203.0.113.25])\r\n\tby mx.example.org (Postfix) with ESMTPS id 1; Tue, 3 Mar 2026 10:00:00 +0100"
	outerHop = "Received: from mail.lycee.fr (mail.lycee.fr [203.0.113.25]) by mx.example.org; Tue, 3 Mar 2026 10:00:00 +0100"
)

func TestAuthResults(t *testing.T) {
	const from = "Jean <jean@lycee.fr>"
	tests := []struct {
		name    string
		hdr     []string
		want    ticket.AuthVerdict
		dkim    string
		spf     string
		dmarc   string
		dkimDom string
	}{
		{"dmarc pass", []string{ourHop, "Authentication-Results: example.org; dmarc=pass header.from=lycee.fr", entryHop},
			ticket.AuthPass, "", "", "pass", ""},
		{"dmarc fail", []string{ourHop, "Authentication-Results: example.org; dkim=pass header.d=lycee.fr; dmarc=fail header.from=lycee.fr", entryHop},
			ticket.AuthFail, "pass", "", "fail", "lycee.fr"},
		{"aligned dkim, subdomain", []string{"Authentication-Results: EXAMPLE.ORG; dkim=pass header.d=mail.lycee.fr", entryHop},
			ticket.AuthPass, "pass", "", "", "mail.lycee.fr"},
		{"dkim by header.i", []string{"Authentication-Results: example.org; dkim=pass header.i=@lycee.fr", entryHop},
			ticket.AuthPass, "pass", "", "", "lycee.fr"},
		{"unaligned dkim", []string{"Authentication-Results: example.org; dkim=pass header.d=mailer.example.net; spf=pass smtp.mailfrom=bounce@mailer.example.net", entryHop},
			ticket.AuthNone, "pass", "pass", "", "mailer.example.net"},
		{"aligned pass among several", []string{"Authentication-Results: example.org; dkim=pass header.d=esp.example.net; dkim=fail header.d=lycee.fr; dkim=pass header.d=lycee.fr", entryHop},
			ticket.AuthPass, "pass", "", "", "lycee.fr"},
		{"dkim and spf fail", []string{"Authentication-Results: example.org; dkim=fail header.d=lycee.fr; spf=fail smtp.mailfrom=jean@lycee.fr", entryHop},
			ticket.AuthFail, "fail", "fail", "", "lycee.fr"},
		{"dkim fail alone", []string{"Authentication-Results: example.org; dkim=fail header.d=lycee.fr; spf=pass smtp.mailfrom=jean@lycee.fr", entryHop},
			ticket.AuthNone, "fail", "pass", "", "lycee.fr"},
		{"spf fail without dkim", []string{"Authentication-Results: example.org; spf=fail smtp.mailfrom=jean@lycee.fr", entryHop},
			ticket.AuthNone, "", "fail", "", ""},
		{"results in two headers", []string{"Authentication-Results: example.org; spf=fail smtp.mailfrom=jean@lycee.fr",
			"Authentication-Results: example.org; dkim=fail header.d=lycee.fr", entryHop},
			ticket.AuthFail, "fail", "fail", "", "lycee.fr"},
		{"other authserv-id ignored", []string{"Authentication-Results: mx.google.com; dmarc=pass header.from=lycee.fr", entryHop},
			ticket.AuthNone, "", "", "", ""},
		{"ours below the entry hop ignored", []string{ourHop, entryHop, "Authentication-Results: example.org; dmarc=pass header.from=lycee.fr"},
			ticket.AuthNone, "", "", "", ""},
		{"only the topmost block", []string{"Authentication-Results: example.org; dmarc=fail header.from=lycee.fr", entryHop,
			"Authentication-Results: example.org; dmarc=pass header.from=lycee.fr"},
			ticket.AuthFail, "", "", "fail", ""},
		{"direct from outside ignored", []string{outerHop, "Authentication-Results: example.org; dmarc=pass header.from=lycee.fr"},
			ticket.AuthNone, "", "", "", ""},
		{"helo lies about our domain", []string{"Received: from mx.example.org (evil [198.51.100.7]) by example.org (Guichet)",
			"Authentication-Results: example.org; dmarc=pass header.from=lycee.fr"},
			ticket.AuthNone, "", "", "", ""},
		{"internal lmtp hop", []string{"Received: from mx.example.org by imap.example.org (Dovecot) with LMTP",
			"Authentication-Results: example.org; dkim=pass header.d=lycee.fr", entryHop},
			ticket.AuthPass, "pass", "", "", "lycee.fr"},
		{"comments and version", []string{"Authentication-Results: example.org 1 (Postfix; OpenDKIM);\r\n\tdkim=pass (2048-bit key; unprotected) header.d=lycee.fr header.b=\"Ab12\";\r\n\tspf=pass (ok) smtp.mailfrom=jean@lycee.fr"},
			ticket.AuthPass, "pass", "pass", "", "lycee.fr"},
		{"malformed header tolerated", []string{"Authentication-Results: example.org; dmarc=pass header.from=lycee.fr; garbage;;; x",
			"Authentication-Results: ;;;", "Authentication-Results: example.org 7; dmarc=fail"},
			ticket.AuthPass, "", "", "pass", ""},
		{"none", []string{entryHop}, ticket.AuthNone, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Parse(context.Background(), authMessage(from, tt.hdr...), HashOnly{}, ParseOptions{AuthServID: "example.org"})
			if err != nil {
				t.Fatal(err)
			}
			a := in.Auth
			if a.Verdict != tt.want || a.DKIM != tt.dkim || a.SPF != tt.spf || a.DMARC != tt.dmarc || a.DKIMDomain != tt.dkimDom {
				t.Errorf("got %+v, want verdict %s dkim %q (%q) spf %q dmarc %q", a, tt.want, tt.dkim, tt.dkimDom, tt.spf, tt.dmarc)
			}
			wantSource := ""
			if tt.dkim != "" || tt.spf != "" || tt.dmarc != "" {
				wantSource = authSourceResults
			}
			if a.Source != wantSource {
				t.Errorf("source %q, want %q", a.Source, wantSource)
			}
		})
	}
}

func TestAuthNoServID(t *testing.T) {
	raw := authMessage("jean@lycee.fr", "Authentication-Results: example.org; dmarc=pass header.from=lycee.fr")
	in, err := Parse(context.Background(), raw, HashOnly{}, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Auth != (ticket.Auth{Verdict: ticket.AuthNone}) {
		t.Errorf("without an authserv-id: got %+v", in.Auth)
	}
}

func TestAuthFixtures(t *testing.T) {
	tests := []struct {
		file string
		want ticket.Auth
	}{
		{"upstream-pass.eml", ticket.Auth{Verdict: ticket.AuthPass, DKIM: "pass", DKIMDomain: "lycee-exemple.fr",
			SPF: "pass", SPFDomain: "lycee-exemple.fr", DMARC: "pass", Source: authSourceResults}},
		{"forged-direct.eml", ticket.Auth{Verdict: ticket.AuthNone}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "auth", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Inspect(context.Background(), raw, ParseOptions{AuthServID: "example.org"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Auth != tt.want {
				t.Errorf("got %+v, want %+v", r.Auth, tt.want)
			}
		})
	}
}

func TestAligned(t *testing.T) {
	tests := []struct {
		d, from string
		want    bool
	}{
		{"lycee.fr", "lycee.fr", true},
		{"mail.lycee.fr", "lycee.fr", true},
		{"LYCEE.FR.", "news.lycee.fr", true},
		{"ac-lyon.fr", "lycee.fr", false},
		{"a.co.uk", "b.co.uk", false},
		{"x.a.co.uk", "a.co.uk", true},
		{"", "lycee.fr", false},
	}
	for _, tt := range tests {
		if got := aligned(tt.d, tt.from); got != tt.want {
			t.Errorf("aligned(%q, %q) = %v", tt.d, tt.from, got)
		}
	}
}

func TestInspectAuthJSON(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "auth", "upstream-pass.eml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Inspect(context.Background(), raw, ParseOptions{AuthServID: "example.org"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `"auth":{"verdict":"pass","dkim":"pass","dkim_domain":"lycee-exemple.fr","spf":"pass","spf_domain":"lycee-exemple.fr","dmarc":"pass","source":"authentication-results"}`
	if !strings.Contains(string(b), want) {
		t.Errorf("inspect JSON %s\nlacks %s", b, want)
	}
}
