package mailin

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/ticket"
)

// keepAcceptor keeps what an Intake hands it.
type keepAcceptor struct {
	mu sync.Mutex
	d  []ticket.Delivery
}

func (k *keepAcceptor) Accept(_ context.Context, d ticket.Delivery) (ticket.Receipt, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.d = append(k.d, d)
	return ticket.Receipt{InboundID: int64(len(k.d)), State: "processed"}, nil
}

func (k *keepAcceptor) last(t *testing.T) ticket.Delivery {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.d) == 0 {
		t.Fatal("nothing delivered")
	}
	return k.d[len(k.d)-1]
}

// forgedAgentMail is issue 10's message: alice, an agent, closing a ticket with a header
// that claims our MTA checked her.
const forgedAgentMail = "From: alice@ecole.test\r\nSubject: Re: [#AURAN1-70] x\r\n" +
	"Authentication-Results: localhost; dmarc=pass header.from=ecole.test; dkim=pass header.d=ecole.test\r\n\r\n#statut closed\r\n"

// TestSMTPForgedResults sends the message over a real SMTP session on loopback,
// through the listener and the Intake: from a client outside --trusted-relays the header
// does not count, is recorded as ignored, and a warning names the client; from a
// trusted relay it counts; a retry of the stored message reads it the same way.
func TestSMTPForgedResults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		relays  []netip.Prefix
		verdict ticket.AuthVerdict
		ignored int
		warn    bool
	}{
		{"no trusted relay", nil, ticket.AuthNone, 1, true},
		{"another relay trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}, ticket.AuthNone, 1, true},
		{"loopback trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, ticket.AuthPass, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := &keepAcceptor{}
			logs := &smtpLogBuffer{}
			in := NewIntake(acc, parse.HashOnly{}, parse.Options{AuthServID: "localhost", TrustedRelays: tc.relays},
				slog.New(slog.NewTextHandler(logs, nil)))
			_, addr := startSMTP(t, SMTPOptions{Deliverer: in})
			if stage, err := smtpSend(t, addr, smtpTx{from: "alice@ecole.test", to: []string{"support@localhost"}, msg: forgedAgentMail}); err != nil {
				t.Fatalf("%s: %v", stage, err)
			}
			d := acc.last(t)
			if d.Msg == nil || d.Msg.Auth.Verdict != tc.verdict || d.Msg.Auth.Ignored != tc.ignored {
				t.Fatalf("auth %+v, want verdict %s with %d ignored", d.Msg.Auth, tc.verdict, tc.ignored)
			}
			warned := strings.Contains(logs.String(), "level=WARN msg=\"authentication-results ignored: client not in --trusted-relays\"") &&
				strings.Contains(logs.String(), "remote_addr=127.0.0.1:")
			if warned != tc.warn {
				t.Errorf("warning logged: %v, want %v\n%s", warned, tc.warn, logs)
			}
			// A retry parses the stored message with the stored envelope (no TraceLen).
			env := d.Env
			env.TraceLen = 0
			again, err := in.Parse(context.Background(), d.Raw, env)
			if err != nil || again.Auth != d.Msg.Auth {
				t.Errorf("retry: %+v (%v), want %+v", again.Auth, err, d.Msg.Auth)
			}
		})
	}
}

// TestIngestTrustsLocalMTA: a message handed over by the local MTA (guichet ingest) is
// read from its top: the MTA's results count, the sender's below its hop do not, and
// --trusted-relays plays no part.
func TestIngestTrustsLocalMTA(t *testing.T) {
	const msg = "Authentication-Results: support.example.org; dkim=pass header.d=lycee.fr; dmarc=pass header.from=lycee.fr\r\n" +
		"Received: from mail.lycee.fr (mail.lycee.fr [203.0.113.25])\r\n\tby mx.support.example.org (Postfix) with ESMTPS id 1; Mon, 7 Dec 2026 04:00:00 +0000\r\n" +
		"Authentication-Results: support.example.org; dmarc=fail header.from=lycee.fr\r\n" +
		"From: Jean <jean@lycee.fr>\r\nSubject: x\r\n\r\nbody\r\n"
	acc := &keepAcceptor{}
	in := NewIntake(acc, parse.HashOnly{}, parse.Options{AuthServID: "support.example.org"}, nil)
	if err := in.Deliver(context.Background(), []byte(msg), ticket.Envelope{Channel: "ingest", From: "jean@lycee.fr"}); err != nil {
		t.Fatal(err)
	}
	a := acc.last(t).Msg.Auth
	if a.Verdict != ticket.AuthPass || a.DMARC != "pass" || a.Ignored != 1 {
		t.Errorf("ingest: %+v, want the MTA's pass with the sender's fail ignored", a)
	}
	// The sender's header alone, below the MTA's hop (an MTA without checks): nothing.
	bare := msg[strings.Index(msg, "Received:"):]
	if err := in.Deliver(context.Background(), []byte(bare), ticket.Envelope{Channel: "ingest", From: "jean@lycee.fr"}); err != nil {
		t.Fatal(err)
	}
	if a := acc.last(t).Msg.Auth; a.Verdict != ticket.AuthNone || a.Source != "" || a.Ignored != 1 {
		t.Errorf("ingest without checks: %+v, want nothing counted, 1 ignored", a)
	}
}
