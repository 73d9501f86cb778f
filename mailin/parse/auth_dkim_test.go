package parse

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/guichet/guichet/ticket"
)

// fakeDNS answers TXT queries from a map and counts them.
type fakeDNS struct {
	txt     map[string]string
	queries int
}

func (f *fakeDNS) LookupTXT(_ context.Context, domain string) ([]string, error) {
	f.queries++
	if v, ok := f.txt[domain]; ok {
		return []string{v}, nil
	}
	return nil, errors.New("no such host")
}

// signed returns msg signed by domain with a new ed25519 key, and a fake DNS that
// publishes the key under selector "s1".
func signed(t *testing.T, domain, msg string) ([]byte, *fakeDNS) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err = dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{
		Domain: domain, Selector: "s1", Signer: priv,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "Subject", "Date", "Message-ID"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dns := &fakeDNS{txt: map[string]string{
		"s1._domainkey." + domain: "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub),
	}}
	return b.Bytes(), dns
}

const dkimMsg = "From: Jean Dupont <jean@lycee.fr>\r\nTo: support@example.org\r\nSubject: Re: [#AURAN1-13] test\r\n" +
	"Date: Tue, 03 Mar 2026 10:00:00 +0100\r\nMessage-ID: <1@lycee.fr>\r\n\r\nMerci, c'est réglé.\r\n"

func TestCheckDKIM(t *testing.T) {
	ctx := context.Background()
	t.Run("valid and aligned", func(t *testing.T) {
		raw, dns := signed(t, "mail.lycee.fr", dkimMsg)
		raw = append([]byte(ourHop+"\r\n"), raw...) // our listener's line does not break it
		in, err := Message(ctx, raw, HashOnly{}, Options{CheckDKIM: true, LookupTXT: dns.LookupTXT})
		if err != nil {
			t.Fatal(err)
		}
		want := ticket.Auth{Verdict: ticket.AuthPass, DKIM: "pass", DKIMDomain: "mail.lycee.fr", Source: authSourceCheck}
		if in.Auth != want {
			t.Errorf("got %+v, want %+v", in.Auth, want)
		}
	})
	t.Run("body altered", func(t *testing.T) {
		raw, dns := signed(t, "lycee.fr", dkimMsg)
		raw = bytes.Replace(raw, []byte("réglé"), []byte("cassé"), 1)
		in, err := Message(ctx, raw, HashOnly{}, Options{CheckDKIM: true, LookupTXT: dns.LookupTXT})
		if err != nil {
			t.Fatal(err)
		}
		// a failing signature alone is no proof of forgery (the contract asks DKIM and
		// SPF, or DMARC): no proof, so "none", with the failure recorded
		want := ticket.Auth{Verdict: ticket.AuthNone, DKIM: "fail", DKIMDomain: "lycee.fr", Source: authSourceCheck}
		if in.Auth != want {
			t.Errorf("got %+v, want %+v", in.Auth, want)
		}
	})
	t.Run("unaligned", func(t *testing.T) {
		raw, dns := signed(t, "mailer.example.net", dkimMsg)
		in, err := Message(ctx, raw, HashOnly{}, Options{CheckDKIM: true, LookupTXT: dns.LookupTXT})
		if err != nil {
			t.Fatal(err)
		}
		want := ticket.Auth{Verdict: ticket.AuthNone, DKIM: "pass", DKIMDomain: "mailer.example.net", Source: authSourceCheck}
		if in.Auth != want {
			t.Errorf("got %+v, want %+v", in.Auth, want)
		}
	})
	t.Run("key not found", func(t *testing.T) {
		raw, _ := signed(t, "lycee.fr", dkimMsg)
		in, err := Message(ctx, raw, HashOnly{}, Options{CheckDKIM: true, LookupTXT: (&fakeDNS{}).LookupTXT})
		if err != nil {
			t.Fatal(err)
		}
		if in.Auth.Verdict != ticket.AuthNone || in.Auth.DKIM == "pass" || in.Auth.DKIM == "" {
			t.Errorf("got %+v", in.Auth)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		dns := &fakeDNS{}
		in, err := Message(ctx, []byte(dkimMsg), HashOnly{}, Options{CheckDKIM: true, LookupTXT: dns.LookupTXT})
		if err != nil {
			t.Fatal(err)
		}
		want := ticket.Auth{Verdict: ticket.AuthNone, DKIM: "none", Source: authSourceCheck}
		if in.Auth != want || dns.queries != 0 {
			t.Errorf("got %+v after %d queries, want %+v", in.Auth, dns.queries, want)
		}
	})
	t.Run("our results win over the check", func(t *testing.T) {
		raw, dns := signed(t, "lycee.fr", dkimMsg)
		raw = append([]byte("Authentication-Results: example.org; dmarc=fail header.from=lycee.fr\r\n"), raw...)
		in, err := Message(ctx, raw, HashOnly{}, Options{AuthServID: "example.org", CheckDKIM: true, LookupTXT: dns.LookupTXT})
		if err != nil {
			t.Fatal(err)
		}
		if in.Auth.Verdict != ticket.AuthFail || in.Auth.Source != authSourceResults || dns.queries != 0 {
			t.Errorf("got %+v after %d queries", in.Auth, dns.queries)
		}
	})
}

// TestMayBeSigned: the message is read for a DKIM check only when its header section may
// hold a signature; a header section that does not end where we can see is checked.
func TestMayBeSigned(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         bool
	}{
		{"unsigned", dkimMsg, false},
		{"unsigned, LF", strings.ReplaceAll(dkimMsg, "\r\n", "\n"), false},
		{"signed", "DKIM-Signature: v=1; d=lycee.fr\r\n" + dkimMsg, true},
		{"signed, lower case, folded", "From: a@b.fr\r\ndkim-signature:\r\n v=1; d=lycee.fr\r\n\r\nbody\r\n", true},
		{"name in a value", "Subject: DKIM-Signature\r\n\r\nbody\r\n", true},
		{"only in the body", "From: a@b.fr\r\n\r\nDKIM-Signature: v=1\r\n", false},
		{"no blank line seen", "From: a@b.fr\r\nSubject: x\r\n", true},
		{"empty", "", true},
		{"mixed case", "From: a@b.fr\r\nDkIm-SiGnAtUrE: v=1\r\n\r\nbody\r\n", true},
		{"at the very end", "From: a@b.fr\r\nX: dkim-signature\r\n\r\n", true},
		{"cut short", "From: a@b.fr\r\nX: dkim-signatur\r\n\r\n", false},
		{"Kelvin sign", "From: a@b.fr\r\nD\u212aIM-Signature: v=1\r\n\r\nbody\r\n", true},
		{"not UTF-8", "From: \xe9t\xe9\r\nDKIM-Signature: v=1\r\n\r\nbody\r\n", true},
		{"not UTF-8, unsigned", "From: \xe9t\xe9\r\n\r\nbody\r\n", false},
	} {
		if got := mayBeSigned([]byte(tc.header)); got != tc.want {
			t.Errorf("%s: mayBeSigned = %v, want %v", tc.name, got, tc.want)
		}
	}
	// checkAuth does not open the message when there is nothing to verify.
	opened := false
	msg := func() io.Reader { opened = true; return strings.NewReader(dkimMsg) }
	a := checkAuth(context.Background(), []byte(dkimMsg), msg, "jean@lycee.fr", Options{CheckDKIM: true, LookupTXT: (&fakeDNS{}).LookupTXT})
	if want := (ticket.Auth{Verdict: ticket.AuthNone, DKIM: "none", Source: authSourceCheck}); a != want || opened {
		t.Errorf("unsigned: %+v, message opened %v; want %+v, not opened", a, opened, want)
	}
}
