package parse

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"github.com/guichet/guichet/ticket"
)

// authMessage builds a message with the given header lines above a fixed From.
func authMessage(from string, hdr ...string) []byte {
	return []byte(strings.Join(hdr, "\r\n") + "\r\nFrom: " + from + "\r\nTo: support@example.org\r\nSubject: test\r\n\r\nbody\r\n")
}

const (
	ourHop       = "Received: from mx.example.org ([127.0.0.1])\r\n\tby example.org (Guichet) with ESMTP; Tue, 3 Mar 2026 10:00:00 +0100"
	entryHop     = "Received: from mail.lycee.fr (mail.lycee.fr [203.0.113.25])\r\n\tby mx.example.org (Postfix) with ESMTPS id 1; Tue, 3 Mar 2026 10:00:00 +0100"
	lmtpDelivery = "Received: from mx.example.org\r\n\tby imap.example.org (Dovecot) with LMTP id 7\r\n\tfor <support@example.org>; Tue, 3 Mar 2026 10:00:01 +0100"
)

// TestAuthResults reads the results that count (a header whose top a trusted MTA
// wrote, as on ingest) into a verdict.
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
		{"dmarc pass", []string{"Authentication-Results: example.org; dmarc=pass header.from=lycee.fr", entryHop},
			ticket.AuthPass, "", "", "pass", ""},
		{"dmarc fail", []string{"Authentication-Results: example.org; dkim=pass header.d=lycee.fr; dmarc=fail header.from=lycee.fr", entryHop},
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
		{"comments and version", []string{"Authentication-Results: example.org 1 (Postfix; OpenDKIM);\r\n\tdkim=pass (2048-bit key; unprotected) header.d=lycee.fr header.b=\"Ab12\";\r\n\tspf=pass (ok) smtp.mailfrom=jean@lycee.fr"},
			ticket.AuthPass, "pass", "pass", "", "lycee.fr"},
		{"none", []string{entryHop}, ticket.AuthNone, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Message(context.Background(), authMessage(from, tt.hdr...), HashOnly{}, Options{AuthServID: "example.org", Channel: "ingest"})
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

// TestTrustedResults is the selection rule: which Authentication-Results fields count,
// by channel, client address and place in the header, and how many of ours are ignored.
func TestTrustedResults(t *testing.T) {
	const (
		pass     = "Authentication-Results: example.org; dmarc=pass header.from=lycee.fr"
		fail     = "Authentication-Results: example.org; dmarc=fail header.from=lycee.fr"
		loopback = "127.0.0.1:41234"
	)
	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name    string
		channel string
		remote  string
		relays  []netip.Prefix
		hdr     []string
		dmarc   string // "" when no result counts
		ignored int
	}{
		// SMTP/LMTP: the client wrote the header, unless it is a trusted relay.
		{"smtp, loopback client, no trusted relay", "smtp", loopback, nil, []string{ourHop, pass, entryHop}, "", 1},
		{"lmtp, loopback client, no trusted relay", "lmtp", loopback, nil, []string{ourHop, pass}, "", 1},
		{"smtp, every field of ours ignored", "smtp", loopback, nil, []string{ourHop, pass, entryHop, fail, "Authentication-Results: mx.google.com; dmarc=pass"}, "", 2},
		{"smtp, client outside the list", "smtp", "203.0.113.9:25", local, []string{ourHop, pass, entryHop}, "", 1},
		{"smtp, unix socket client", "smtp", "@", []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, []string{ourHop, pass}, "", 1},
		{"smtp, unreadable client address", "smtp", "", local, []string{ourHop, pass}, "", 1},
		{"smtp, trusted relay", "smtp", loopback, local, []string{ourHop, pass, entryHop}, "pass", 0},
		{"smtp, trusted relay in a /8", "smtp", "127.0.0.9:2000", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, []string{ourHop, pass, entryHop}, "pass", 0},
		{"lmtp, trusted relay over IPv6", "lmtp", "[::1]:50000", []netip.Prefix{netip.MustParsePrefix("::1/128")}, []string{ourHop, pass, entryHop}, "pass", 0},
		{"lmtp, IPv4-mapped client", "lmtp", "[::ffff:127.0.0.1]:50000", local, []string{ourHop, pass, entryHop}, "pass", 0},
		{"trusted relay that added nothing: the sender's field is below its hop", "smtp", loopback, local, []string{ourHop, entryHop, pass}, "", 1},
		{"trusted relay: only the topmost block", "smtp", loopback, local, []string{ourHop, fail, entryHop, pass}, "fail", 1},
		{"trusted relay: other authserv-ids passed over", "smtp", loopback, local,
			[]string{ourHop, "Authentication-Results: mx.google.com; dmarc=fail header.from=lycee.fr", pass, entryHop}, "pass", 0},
		{"trusted relay: several fields of ours", "lmtp", loopback, local,
			[]string{ourHop, "Authentication-Results: example.org; spf=pass smtp.mailfrom=jean@lycee.fr", pass, entryHop}, "pass", 0},
		{"trusted relay: our own hop is not theirs to pass", "smtp", loopback, local, []string{ourHop, ourHop, pass}, "", 1},
		// ingest and IMAP: the local MTA, the mailbox provider wrote the top.
		{"ingest: topmost", "ingest", "", nil, []string{pass, entryHop, fail}, "pass", 1},
		{"ingest: below the MTA's entry hop", "ingest", "", nil, []string{entryHop, pass}, "", 1},
		{"ingest: an SMTP hop of ours is an SMTP hop", "ingest", "", nil, []string{ourHop, pass}, "", 1},
		{"ingest: a delivery over LMTP is passed", "ingest", "", nil, []string{lmtpDelivery, pass, entryHop}, "pass", 0},
		{"ingest: no LMTP hop between two blocks", "ingest", "", nil, []string{fail, lmtpDelivery, pass}, "fail", 1},
		{"imap: Dovecot's LMTP hop above the results", "imap", "imap.example.org", nil, []string{lmtpDelivery, pass, entryHop}, "pass", 0},
		{"imap: a provider's internal hop without from", "imap", "imap.example.org", nil,
			[]string{"Received: by 2002:a05:6000:1:b0:1 with SMTP id x; Tue, 3 Mar 2026 10:00:02 +0100", pass, entryHop}, "", 1},
		{"imap: an LMTP hop below the entry hop", "imap", "imap.example.org", nil,
			[]string{entryHop, "Received: from evil.example by mx.example.org with LMTP", pass}, "", 1},
		{"no channel reads as ingest", "", "", nil, []string{pass, entryHop}, "pass", 0},
		// How the fields are read.
		{"authserv-id: case and final dot", "ingest", "", nil, []string{"Authentication-Results: Example.ORG.; dmarc=pass header.from=lycee.fr"}, "pass", 0},
		{"an id that only starts like ours", "ingest", "", nil, []string{"Authentication-Results: example.org.evil.test; dmarc=pass header.from=lycee.fr"}, "", 0},
		{"malformed fields read as far as they parse", "ingest", "", nil,
			[]string{"Authentication-Results: example.org; dmarc=pass header.from=lycee.fr; garbage;;; x",
				"Authentication-Results: ;;;", "Authentication-Results: example.org 7; dmarc=fail", "Authentication-Results:",
				"Authentication-Results: example.org"}, "pass", 0},
		{"a field of ours without results still opens the block", "ingest", "", nil, []string{"Authentication-Results: example.org; none", entryHop, pass}, "", 1},
		{"NUL bytes and folding", "ingest", "", nil, []string{"Authentication-Results: example.org;\r\n dmarc=pass\x00 header.from=lycee.fr"}, "pass\x00", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := Options{AuthServID: "example.org", Channel: tt.channel, RemoteAddr: tt.remote, TrustedRelays: tt.relays}
			fields := rawHeaderFields(authMessage("jean@lycee.fr", tt.hdr...))
			res, ignored := trustedResults(fields, opt)
			dmarc := ""
			for _, r := range res {
				if d, ok := r.(*authres.DMARCResult); ok && dmarc == "" {
					dmarc = string(d.Value)
				}
			}
			if dmarc != tt.dmarc || ignored != tt.ignored {
				t.Errorf("dmarc %q, %d ignored; want %q, %d ignored", dmarc, ignored, tt.dmarc, tt.ignored)
			}
		})
	}
}

// TestForgedResultsIssue is issue 10's attack as the parser sees it: alice, an agent, from
// loopback with a header claiming DMARC and DKIM passes.
func TestForgedResultsIssue(t *testing.T) {
	raw := []byte("Received: from client.test ([127.0.0.1])\r\n\tby mx.guichet.test (Guichet) with ESMTP\r\n\tfor <support@ecole.test>; Mon, 7 Dec 2026 04:00:00 +0000\r\n" +
		"From: alice@ecole.test\r\nSubject: Re: [#AURAN1-70] x\r\n" +
		"Authentication-Results: localhost; dmarc=pass header.from=ecole.test; dkim=pass header.d=ecole.test\r\n\r\n#statut closed\r\n")
	opt := Options{AuthServID: "localhost", Channel: "smtp", RemoteAddr: "127.0.0.1:52000"}
	in, err := Message(context.Background(), raw, HashOnly{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ticket.Auth{Verdict: ticket.AuthNone, Ignored: 1}); in.Auth != want {
		t.Errorf("default: got %+v, want %+v", in.Auth, want)
	}
	opt.TrustedRelays = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	if in, err = Message(context.Background(), raw, HashOnly{}, opt); err != nil {
		t.Fatal(err)
	}
	if in.Auth.Verdict != ticket.AuthPass || in.Auth.Source != authSourceResults || in.Auth.Ignored != 0 {
		t.Errorf("from a trusted relay: got %+v, want a pass from the header", in.Auth)
	}
}

func TestAuthNoServID(t *testing.T) {
	raw := authMessage("jean@lycee.fr", "Authentication-Results: example.org; dmarc=pass header.from=lycee.fr")
	in, err := Message(context.Background(), raw, HashOnly{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Auth != (ticket.Auth{Verdict: ticket.AuthNone}) {
		t.Errorf("without an authserv-id: got %+v", in.Auth)
	}
}

// postfixInFront are the options of a listener behind an MTA on loopback, as the two
// fixtures were received: over SMTP, the client on 127.0.0.1 or, for forged-direct.eml,
// 198.51.100.7.
func postfixInFront(remote string) Options {
	return Options{AuthServID: "example.org", Channel: "smtp", RemoteAddr: remote,
		TrustedRelays: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

func TestAuthFixtures(t *testing.T) {
	tests := []struct {
		file   string
		remote string
		want   ticket.Auth
	}{
		{"upstream-pass.eml", "127.0.0.1:40000", ticket.Auth{Verdict: ticket.AuthPass, DKIM: "pass", DKIMDomain: "lycee-exemple.fr",
			SPF: "pass", SPFDomain: "lycee-exemple.fr", DMARC: "pass", Source: authSourceResults, Ignored: 1}},
		{"forged-direct.eml", "198.51.100.7:40000", ticket.Auth{Verdict: ticket.AuthNone, Ignored: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "auth", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Inspect(context.Background(), raw, postfixInFront(tt.remote))
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
	r, err := Inspect(context.Background(), raw, postfixInFront("127.0.0.1:40000"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `"auth":{"verdict":"pass","dkim":"pass","dkim_domain":"lycee-exemple.fr","spf":"pass","spf_domain":"lycee-exemple.fr","dmarc":"pass","source":"authentication-results","ignored":1}`
	if !strings.Contains(string(b), want) {
		t.Errorf("inspect JSON %s\nlacks %s", b, want)
	}
}
