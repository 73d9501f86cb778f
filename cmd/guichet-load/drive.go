package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// driveResult is what one drive measured.
type driveResult struct {
	OK       int             // messages answered 250
	Failed   int             // messages answered otherwise, or lost with their connection
	Start    time.Time       // the first message's start
	Elapsed  time.Duration   // from the first MAIL to the last reply
	Lat      []time.Duration // per message answered 250: see drive
	FirstErr string
}

// rate is messages answered 250 per second.
func (r driveResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// conn is one client connection as the drive sees it: smtpConn, or a fake in tests.
type conn interface {
	// send makes one transaction and returns the time from the end of the data to the
	// reply.
	send(m message) (time.Duration, error)
	// broken tells whether the session is in an unknown state after err (a new
	// connection is needed).
	broken(err error) bool
	close()
}

// dialFunc opens connection k (0-based).
type dialFunc func(k int) (conn, error)

// drive sends msgs over conns connections, each reusing its session (MAIL, RCPT, DATA,
// again), until all are answered or ctx ends.
//
// With rate 0 it is a closed loop: each connection sends its next message as soon as
// the last one was answered, and a message's latency runs from the end of its data (the
// final ".") to the reply. With rate > 0 it is an open loop: message i is due at
// start + i/rate whatever happened before, is sent by the first free connection, and its
// latency runs from when it was due to the reply, so time spent waiting for a free
// connection (the server being behind) counts.
func drive(ctx context.Context, dial dialFunc, msgs []message, conns int, rate float64) driveResult {
	var (
		mu  sync.Mutex
		res = driveResult{Lat: make([]time.Duration, 0, len(msgs)), Start: time.Now()}
		wg  sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		res.Failed++
		if res.FirstErr == "" {
			res.FirstErr = err.Error()
		}
		mu.Unlock()
	}
	next := jobsFor(ctx, res.Start, len(msgs), rate, realClock{})
	for k := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c conn
			defer func() {
				if c != nil {
					c.close()
				}
			}()
			lat := make([]time.Duration, 0, len(msgs)/conns+1)
			defer func() {
				mu.Lock()
				res.Lat = append(res.Lat, lat...)
				mu.Unlock()
			}()
			for {
				j, ok := next()
				if !ok {
					return
				}
				if c == nil {
					var err error
					if c, err = dial(k); err != nil {
						fail(err)
						continue
					}
				}
				d, err := c.send(msgs[j.i])
				if err != nil {
					fail(fmt.Errorf("message %d: %w", j.i, err))
					if c.broken(err) {
						c.close()
						c = nil
					}
					continue
				}
				if rate > 0 {
					d = time.Since(j.due)
				}
				lat = append(lat, d)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(res.Start)
	res.OK = len(res.Lat)
	return res
}

// job is one message to send: its index, and when it is due (open loop).
type job struct {
	i   int
	due time.Time
}

// clock is time as the open-loop scheduler sees it.
type clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends.
	Sleep(ctx context.Context, d time.Duration)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// dueAt is when message i of an open loop started at start at rate messages per second
// is due.
func dueAt(start time.Time, rate float64, i int) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// jobsFor returns the function the connections call for their next job, false when
// there is none left (or ctx ended). With rate 0 it hands out the n messages in order at
// once; otherwise a scheduler releases message i at dueAt(start, rate, i), and the
// messages due while every connection is busy queue up, in order.
func jobsFor(ctx context.Context, start time.Time, n int, rate float64, clk clock) func() (job, bool) {
	if rate <= 0 {
		var next atomic.Int64
		return func() (job, bool) {
			i := int(next.Add(1) - 1)
			if i >= n || ctx.Err() != nil {
				return job{}, false
			}
			return job{i: i}, true
		}
	}
	ch := make(chan job, n)
	go func() {
		defer close(ch)
		for i := range n {
			due := dueAt(start, rate, i)
			if d := due.Sub(clk.Now()); d > 0 {
				clk.Sleep(ctx, d)
			}
			if ctx.Err() != nil {
				return
			}
			ch <- job{i: i, due: due}
		}
	}()
	return func() (job, bool) {
		select {
		case j, ok := <-ch:
			return j, ok && ctx.Err() == nil
		case <-ctx.Done():
			return job{}, false
		}
	}
}

// smtpConn is a real SMTP client connection.
type smtpConn struct {
	c    *smtp.Client
	rcpt string
	bad  bool // after an error that is not an SMTP reply
}

func smtpDialer(addrs []string, rcpt string) dialFunc {
	return func(k int) (conn, error) {
		c, err := smtp.Dial(addrs[k%len(addrs)])
		if err != nil {
			return nil, err
		}
		c.CommandTimeout = 30 * time.Second
		c.SubmissionTimeout = 60 * time.Second
		if err := c.Hello("load.localhost"); err != nil {
			c.Close()
			return nil, err
		}
		return &smtpConn{c: c, rcpt: rcpt}, nil
	}
}

func (s *smtpConn) broken(err error) bool {
	_, ok := err.(*smtp.SMTPError)
	s.bad = s.bad || !ok
	return s.bad
}

func (s *smtpConn) close() {
	if s.bad {
		s.c.Close()
		return
	}
	s.c.Quit()
}

func (s *smtpConn) send(m message) (time.Duration, error) {
	c := s.c
	if err := c.Mail(m.from, &smtp.MailOptions{Size: int64(len(m.data))}); err != nil {
		return 0, err
	}
	if err := c.Rcpt(s.rcpt, nil); err != nil {
		c.Reset()
		return 0, err
	}
	w, err := c.Data()
	if err != nil {
		c.Reset()
		return 0, err
	}
	if _, err := w.Write(m.data); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := w.Close(); err != nil { // writes the final "." and reads the reply
		return 0, err
	}
	return time.Since(t0), nil
}
