package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// runSink is the `sink` mode: a bare go-smtp server with the same settings as Guichet's
// listener (no TLS, mailin's default limits and timeouts) that reads each message's data
// to the end and discards it. It prints "listening ADDR" once ready, with --report a line
// "got RCPT…" for each message read (the relay sink: the load command counts the
// confirmations that arrived), and the count of messages on its way out.
func runSink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	report := fs.Bool("report", false, `print "got RCPT…" for each message received`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	var (
		count atomic.Int64
		got   chan string
	)
	if *report {
		got = make(chan string, 4096)
		go printGot(os.Stdout, got)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{count: &count, got: got}, nil
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

// printGot writes each line of got to w, flushing whenever no other line is waiting.
func printGot(w io.Writer, got <-chan string) {
	bw := bufio.NewWriter(w)
	for line := range got {
		bw.WriteString(line)
		for more := true; more; {
			select {
			case l := <-got:
				bw.WriteString(l)
			default:
				more = false
			}
		}
		bw.Flush()
	}
}

// sinkSession accepts every envelope and discards the data.
type sinkSession struct {
	count *atomic.Int64
	got   chan<- string // nil without --report
	rcpts []string
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { s.rcpts = s.rcpts[:0]; return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.got != nil {
		s.rcpts = append(s.rcpts, to)
	}
	return nil
}
func (s *sinkSession) Reset()        { s.rcpts = s.rcpts[:0] }
func (s *sinkSession) Logout() error { return nil }

// Data reads the message to its end and drops it.
func (s *sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.count.Add(1)
	if s.got != nil {
		s.got <- "got " + strings.Join(s.rcpts, " ") + "\n"
	}
	return nil
}
