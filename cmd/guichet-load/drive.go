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
	Elapsed  time.Duration   // from the first MAIL to the last reply
	Lat      []time.Duration // end of data to reply, per message answered 250
	FirstErr string
}

// rate is messages answered 250 per second.
func (r driveResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// drive sends msgs to addrs over conns connections, connection k to addrs[k mod
// len(addrs)], each reusing its session (MAIL, RCPT, DATA, again), and measures each
// message from the end of its data (the final ".") to the reply. It stops at ctx's end.
func drive(ctx context.Context, addrs []string, rcpt string, msgs []message, conns int) driveResult {
	var (
		next  atomic.Int64
		mu    sync.Mutex
		res   = driveResult{Lat: make([]time.Duration, 0, len(msgs))}
		wg    sync.WaitGroup
		start = time.Now()
	)
	fail := func(err error) {
		mu.Lock()
		res.Failed++
		if res.FirstErr == "" {
			res.FirstErr = err.Error()
		}
		mu.Unlock()
	}
	for k := range conns {
		addr := addrs[k%len(addrs)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *smtp.Client
			defer func() {
				if c != nil {
					c.Quit()
				}
			}()
			lat := make([]time.Duration, 0, len(msgs)/conns+1)
			defer func() {
				mu.Lock()
				res.Lat = append(res.Lat, lat...)
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				if c == nil {
					var err error
					if c, err = dial(addr); err != nil {
						fail(err)
						continue
					}
				}
				d, err := send(c, rcpt, msgs[i])
				if err != nil {
					fail(fmt.Errorf("message %d: %w", i, err))
					if _, ok := err.(*smtp.SMTPError); !ok {
						c.Close() // the session is in an unknown state: start again
						c = nil
					}
					continue
				}
				lat = append(lat, d)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.OK = len(res.Lat)
	return res
}

func dial(addr string) (*smtp.Client, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	c.CommandTimeout = 30 * time.Second
	c.SubmissionTimeout = 60 * time.Second
	if err := c.Hello("load.localhost"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// send makes one transaction on c and returns the time from the end of the data to the
// reply.
func send(c *smtp.Client, rcpt string, m message) (time.Duration, error) {
	if err := c.Mail(m.from, &smtp.MailOptions{Size: int64(len(m.data))}); err != nil {
		return 0, err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
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
