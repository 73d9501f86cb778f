package mailout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestIsRelayFault(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"accepted", nil, false},
		{"connection refused", errors.New("mailout: relay: dial tcp 127.0.0.1:25: connect: connection refused"), true},
		{"AUTH refused", &ReplyError{Command: "AUTH", Code: 535, EnhancedCode: "5.7.8"}, true},
		{"sender refused", &ReplyError{Command: "MAIL", Code: 553, EnhancedCode: "5.7.1"}, true},
		{"relay access denied", &ReplyError{Command: "RCPT", Code: 554, EnhancedCode: "5.7.1", Message: "Relay access denied"}, true},
		{"RCPT tempfail of the relay", &ReplyError{Command: "RCPT", Code: 451, EnhancedCode: "4.3.0"}, true},
		{"no such user", &ReplyError{Command: "RCPT", Code: 550, EnhancedCode: "5.1.1"}, false},
		{"mailbox full", &ReplyError{Command: "RCPT", Code: 452, EnhancedCode: "4.2.2"}, false},
		{"RCPT 550 without enhanced code", &ReplyError{Command: "RCPT", Code: 550}, false},
		{"content refused", &ReplyError{Command: "DATA", Code: 554, EnhancedCode: "5.7.1"}, false},
		{"queue file write error", &ReplyError{Command: "DATA", Code: 451, EnhancedCode: "4.3.0"}, true},
		{"wrapped", fmt.Errorf("x: %w", &ReplyError{Command: "RCPT", Code: 550, EnhancedCode: "5.1.1"}), false},
	}
	for _, tt := range tests {
		if got := IsRelayFault(tt.err); got != tt.want {
			t.Errorf("%s: IsRelayFault = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRelayHealthWindow(t *testing.T) {
	logs := &logBuffer{}
	h := &RelayHealth{Logger: slog.New(slog.NewTextHandler(logs, nil))}
	refused := errors.New("mailout: relay: connection refused")
	noUser := &ReplyError{Command: "RCPT", Code: 550, EnhancedCode: "5.1.1"}
	ping := func() error { return h.Ping(context.Background()) }

	h.Observe(refused)
	h.Observe(refused)
	if err := ping(); err != nil {
		t.Fatalf("unavailable after 2 failures of %d: %v", DefaultHealthWindow, err)
	}
	h.Observe(context.Canceled) // our own stop: says nothing
	h.Observe(noUser)           // the relay answered about a recipient: it works
	h.Observe(refused)
	h.Observe(refused)
	if err := ping(); err != nil {
		t.Fatalf("a recipient's refusal did not break the streak: %v", err)
	}
	h.Observe(fmt.Errorf("%w (%w)", context.Canceled, refused))
	h.Observe(refused)
	err := ping()
	if err == nil || !strings.Contains(err.Error(), "unavailable") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("after 3 failures in a row: %v", err)
	}
	if n := strings.Count(logs.String(), "refuses every mail"); n != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", n, logs)
	}
	h.Observe(refused)
	if n := strings.Count(logs.String(), "refuses every mail"); n != 1 {
		t.Errorf("logged again while still unavailable:\n%s", logs)
	}
	h.Observe(nil)
	if err := ping(); err != nil {
		t.Fatalf("a mail went through, still unavailable: %v", err)
	}
	if !strings.Contains(logs.String(), "accepts mail again") {
		t.Error("no line when the relay came back")
	}
}

// TestWorkerRelayHealth: the worker feeds the relay's /healthz check from real sends: a
// relay that every mail fails to reach (its certificate refused under verify) shows
// unavailable with the reason; one that refuses only the recipients does not.
func TestWorkerRelayHealth(t *testing.T) {
	srvTLS, _ := selfSigned(t)
	t.Run("certificate refused", func(t *testing.T) {
		snk := startSink(t, sinkOptions{startTLS: srvTLS})
		h := &RelayHealth{}
		w, logs := newTestWorker(t, queued(3), relay(t, "smtp://"+snk.Addr, RelayOptions{TLS: TLSVerify}), func(o *Options) {
			o.Observer = h
		})
		h.Logger = w.log
		if err := w.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		err := h.Ping(context.Background())
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Ping = %v", err)
		}
		if !strings.Contains(logs.String(), "refuses every mail") || !strings.Contains(logs.String(), "--relay-tls opportunistic") {
			t.Errorf("no clear ERROR line:\n%s", logs)
		}
	})
	t.Run("recipients refused", func(t *testing.T) {
		snk := startSink(t, sinkOptions{})
		snk.rcptErr = errNoUser
		h := &RelayHealth{}
		w, _ := newTestWorker(t, queued(4), relay(t, "smtp://"+snk.Addr, RelayOptions{}), func(o *Options) { o.Observer = h })
		if err := w.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := h.Ping(context.Background()); err != nil {
			t.Fatalf("unknown recipients made the relay unavailable: %v", err)
		}
	})
	t.Run("relay access denied", func(t *testing.T) {
		snk := startSink(t, sinkOptions{})
		snk.rcptErr = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}
		h := &RelayHealth{}
		w, _ := newTestWorker(t, queued(3), relay(t, "smtp://"+snk.Addr, RelayOptions{}), func(o *Options) { o.Observer = h })
		if err := w.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := h.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "Relay access denied") {
			t.Fatalf("Ping = %v", err)
		}
	})
}

// orderQueue notes, when MarkSent is called, what happened already.
type orderQueue struct {
	*fakeQueue
	logs     *logBuffer
	observed *int
	before   []string // for each MarkSent: the log so far, and the outcomes observed
}

func (q *orderQueue) MarkSent(ctx context.Context, id int64, response string) error {
	q.before = append(q.before, fmt.Sprintf("observed=%d log=%q", *q.observed, q.logs.String()))
	return q.fakeQueue.MarkSent(ctx, id, response)
}

type countObserver struct{ n *int }

func (c countObserver) Observe(error) { *c.n++ }

// TestMarkSentFirst: after the relay's 250 the worker marks the mail sent before it logs
// or reports anything: every step in between widens the window in which a crash sends
// the mail twice.
func TestMarkSentFirst(t *testing.T) {
	snk := startSink(t, sinkOptions{})
	var observed int
	q := &orderQueue{fakeQueue: queued(1), observed: &observed}
	w, logs := newTestWorker(t, q, relay(t, "smtp://"+snk.Addr, RelayOptions{}), func(o *Options) {
		o.Observer = countObserver{&observed}
	})
	q.logs = logs
	w.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(q.before) != 1 || q.before[0] != `observed=0 log=""` {
		t.Fatalf("before MarkSent: %v", q.before)
	}
	if observed != 1 || !strings.Contains(logs.String(), "mail sent") {
		t.Errorf("after: observed %d, log %q", observed, logs)
	}
}
