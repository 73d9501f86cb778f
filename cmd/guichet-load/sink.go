package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// runSink is the `sink` mode: a bare go-smtp server with the same settings as Guichet's
// listener (no TLS, mailin's default limits and timeouts) that reads each message's data
// to the end and discards it. It prints "listening ADDR" once ready, and the count of
// messages on its way out.
func runSink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	delay := fs.Duration("delay", 0, "wait this long before answering each message's data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	var count atomic.Int64
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{count: &count, delay: *delay}, nil
	}))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = 25 << 20 // mailin.DefaultMaxMessageBytes and the rest below
	srv.MaxRecipients = 50
	srv.MaxLineLength = 64 << 10
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stdout, "listening %s\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	srv.Close()
	fmt.Fprintf(os.Stdout, "received %d\n", count.Load())
	return err
}

// sinkSession accepts every envelope and discards the data.
type sinkSession struct {
	count *atomic.Int64
	delay time.Duration
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Reset()                               {}
func (s *sinkSession) Logout() error                        { return nil }

// Data reads the message to its end and drops it.
func (s *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.count.Add(1)
	time.Sleep(s.delay)
	return nil
}
