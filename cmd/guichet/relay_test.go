package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/internal/smtpsink"
	"github.com/guichet/guichet/internal/testcert"
	"github.com/guichet/guichet/mailout"
	"github.com/guichet/guichet/ticket"
)

func TestRelayTLSFlags(t *testing.T) {
	parse := parseServe
	tests := []struct {
		args []string
		env  map[string]string
		want mailout.TLSPolicy
		err  string // a start-up error naming this; "" when accepted
	}{
		{nil, nil, mailout.TLSAuto, ""},
		{[]string{"--relay-tls", "verify"}, nil, mailout.TLSVerify, ""},
		{nil, map[string]string{"GUICHET_RELAY_TLS": "none"}, mailout.TLSNone, ""},
		{[]string{"--relay-tls", "opportunistic"}, map[string]string{"GUICHET_RELAY_TLS": "none"}, mailout.TLSOpportunistic, ""},
		{[]string{"--relay-insecure-skip-verify"}, nil, mailout.TLSOpportunistic, ""},
		{[]string{"--relay-insecure-skip-verify", "--relay-tls", "opportunistic"}, nil, mailout.TLSOpportunistic, ""},
		{[]string{"--relay-insecure-skip-verify", "--relay-tls", "verify"}, nil, 0, "contradicts"},
		{[]string{"--relay-tls", "may"}, nil, 0, "--relay-tls"},
		{[]string{"--relay-tls", "none", "--relay", "smtps://relay.example.org"}, nil, 0, "smtps"},
		{[]string{"--relay-tls", "none", "--relay", "smtp://relay.example.org"}, nil, mailout.TLSNone, ""},
	}
	for _, tt := range tests {
		c, err := parse(tt.args, tt.env)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v %v: err = %v, want one naming %q", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %v: %v", tt.args, tt.env, err)
			continue
		}
		if p, _ := c.relayTLS(); p != tt.want {
			t.Errorf("%v %v: policy %s, want %s", tt.args, tt.env, p, tt.want)
		}
	}
	if _, err := parse([]string{"--instance-id", "a\nb"}, nil); err == nil || !strings.Contains(err.Error(), "--instance-id") {
		t.Errorf("--instance-id with a newline: %v", err)
	}
}

// TestServeRelayTLS: serve's outbound relay is a real SMTP server on 127.0.0.1 offering
// STARTTLS with a self-signed certificate, as Debian's Postfix does. With the default
// --relay-tls the mail goes, over TLS; with verify it does not, and /healthz says the
// relay is unavailable once the sends have failed several times in a row.
func TestServeRelayTLS(t *testing.T) {
	srvTLS, _ := testcert.New(t)
	relay := func(t *testing.T) *smtpsink.Sink {
		s, err := smtpsink.StartTLS(srvTLS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	mail := func(from, id string) string {
		return "From: " + from + "\r\nTo: support@localhost\r\nSubject: Imprimante\r\nMessage-ID: <" + id + ">\r\n\r\nElle ne marche plus.\r\n"
	}
	t.Run("auto", func(t *testing.T) {
		r := relay(t)
		h := startHarness(t, "--relay", "smtp://"+r.Addr())
		if err := h.send("jeanne@ecole.test", mail("jeanne@ecole.test", "tls1@ecole.test")); err != nil {
			t.Fatal(err)
		}
		got := mailTo(r.WaitFor(2, 20*time.Second), "jeanne@ecole.test")
		if len(got) != 1 || !got[0].TLS {
			t.Fatalf("confirmation through the relay: %+v", got)
		}
		if code, body := get(t, "http://"+h.httpAddr+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz: %d %q", code, body)
		}
	})
	t.Run("verify", func(t *testing.T) {
		r := relay(t)
		h := startHarness(t, "--relay", "smtp://"+r.Addr(), "--relay-tls", "verify")
		if code, body := get(t, "http://"+h.httpAddr+"/healthz"); code != http.StatusOK {
			t.Fatalf("/healthz before any send: %d %q", code, body)
		}
		// Two tickets: a confirmation and the agent's notification each, four sends.
		for i, from := range []string{"jeanne@ecole.test", "paul@ecole.test"} {
			if err := h.send(from, mail(from, "verify"+string(rune('a'+i))+"@ecole.test")); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body := get(t, "http://"+h.httpAddr+"/healthz")
			if code == http.StatusServiceUnavailable && body == "relay: unavailable\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("/healthz after every send failed: %d %q, want 503 relay: unavailable", code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := r.Count(); n != 0 {
			t.Errorf("%d mails went to a relay whose certificate was refused", n)
		}
	})
}

func TestDefaultInstanceID(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if defaultInstanceID(a) != defaultInstanceID(a) {
		t.Error("not stable")
	}
	if defaultInstanceID(a) == defaultInstanceID(b) {
		t.Error("two data folders on one host share an identity")
	}
	rel, err := filepath.Rel(mustGetwd(t), a)
	if err == nil && defaultInstanceID(rel) != defaultInstanceID(a) {
		t.Error("the same folder named relatively has another identity")
	}
}

// TestServeReleasesOwnClaims: serve gives back at start the outbox rows claimed under
// its --instance-id (its previous run died holding them) and leaves another instance's
// claims for their lease, on SQLite (without the spool, so that serve does not own the
// database) and on PostgreSQL.
func TestServeReleasesOwnClaims(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			dsn := filepath.Join(dir, "guichet.db")
			extra := []string{"--spool", "off"}
			if store == "postgres" {
				dsn = testPostgresDB(t)
				extra = append(extra, "--db", dsn)
			}
			for _, from := range []string{"mine@ecole.test", "theirs@ecole.test"} {
				var errb bytes.Buffer
				args := append([]string{"ingest", "--data-dir", dir, "--no-send"}, extra[2:]...)
				msg := "From: " + from + "\r\nTo: support@localhost\r\nSubject: Projecteur\r\nMessage-ID: <" + from + ">\r\n\r\nBonjour\r\n"
				if code := run(context.Background(), args, IO{Stdin: strings.NewReader(msg), Stdout: &bytes.Buffer{}, Stderr: &errb, Getenv: func(string) string { return "" }}, nil); code != 0 {
					t.Fatalf("ingest: exit %d: %s", code, errb.String())
				}
			}
			ctx := context.Background()
			claim := func(instance string) {
				db, _, err := ticket.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				svc, err := ticket.NewService(ctx, db, ticket.Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"), Instance: instance})
				if err != nil {
					t.Fatal(err)
				}
				defer svc.Close()
				if got, err := svc.ClaimOutbox(ctx, 1, time.Hour); err != nil || len(got) != 1 {
					t.Fatalf("claim for %s: %v %+v", instance, err, got)
				}
			}
			claim("box-a") // the older row: mine@
			claim("box-b")

			h := startHarnessOn(t, dir, append(extra, "--instance-id", "box-a")...)
			deadline := time.Now().Add(20 * time.Second)
			for h.countTo("mine@ecole.test") == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the mail claimed by this instance's earlier run was not sent within 20 s of the start")
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // a sender that took every claim would have sent both by now
			if n := h.countTo("theirs@ecole.test"); n != 0 {
				t.Errorf("another instance's claimed mail was sent %d times before its lease ended", n)
			}
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestServeProbesRelay: a relay whose certificate --relay-tls verify refuses is named in
// a warning at start, before any mail, and serve starts all the same.
func TestServeProbesRelay(t *testing.T) {
	srvTLS, _ := testcert.New(t)
	r, err := smtpsink.StartTLS(srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ready := make(chan struct{}, 1)
	done := make(chan int, 1)
	args := []string{"serve", "--data-dir", t.TempDir(), "--smtp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--relay", "smtp://" + r.Addr(), "--relay-tls", "verify", "--log-level", "warn"}
	go func() {
		done <- run(ctx, args, IO{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: logs, Getenv: func(string) string { return "" },
			Ready: func(string, string) { ready <- struct{}{} }}, nil)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs)
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), "the relay cannot take mail now"); {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the relay at start:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "--relay-tls opportunistic") {
		t.Errorf("the warning does not say what to change:\n%s", logs)
	}
}
