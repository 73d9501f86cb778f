package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

const rcpt = "support@localhost"

// runSize measures the sink, then Guichet, with the same messages of one size.
func runSize(ctx context.Context, c config, self, label string, size int) (row, error) {
	n := c.messages
	if n == 0 {
		n = 2000
		if size > 16<<10 {
			n = 400
		}
	}
	w := c.warmup
	if w == 0 {
		w = max(n/20, 2*c.conns)
	}
	var tb [4]byte
	rand.Read(tb[:])
	msgs := makeMessages("load-"+hex.EncodeToString(tb[:]), 0, n+w, size)
	warm, meas := msgs[n:], msgs[:n]
	r := row{Size: label, Bytes: size, Conns: c.conns, N: n, Warmup: w, Target: targetRatioSmall}
	if size > 16<<10 {
		r.Target = targetRatioLarge
	}

	progress("%s: sink: %d warm-up + %d messages over %d connections", label, w, n, c.conns)
	sink, addr, err := startChild("sink", self, true, "sink", "--addr", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	sr, err := measure(ctx, c, addr, warm, meas)
	rss := sink.peakRSS()
	if serr := sink.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return r, fmt.Errorf("sink: %w", err)
	}
	r.Sink = sideOf(sr, rss)

	if _, err := runGuichet(ctx, c, self, label, warm, meas, &r); err != nil {
		return r, err
	}
	r.judge()
	return r, nil
}

// measure drives addr with warm, then with meas, under c.timeout each.
func measure(ctx context.Context, c config, addr string, warm, meas []message) (driveResult, error) {
	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	wr := drive(wctx, addr, rcpt, warm, c.conns)
	cancel()
	if wr.Failed > 0 || ctx.Err() != nil {
		return wr, fmt.Errorf("warm-up: %d failed: %s %v", wr.Failed, wr.FirstErr, ctx.Err())
	}
	mctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res := drive(mctx, addr, rcpt, meas, c.conns)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// runGuichet starts the relay sink and `guichet serve`, drives it, and verifies and fills
// r's Guichet side, counts and drain time.
func runGuichet(ctx context.Context, c config, self, label string, warm, meas []message, r *row) (driveResult, error) {
	dir, err := os.MkdirTemp("", "guichet-load-*")
	if err != nil {
		return driveResult{}, err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	} else {
		progress("%s: data folder %s kept", label, dir)
	}
	args := []string{"--data-dir", dir, "--log-level", "warn"}
	for i := range c.agents {
		ua := append([]string{"user", "add", fmt.Sprintf("agent%d@localhost", i+1), "--name", fmt.Sprintf("Agent %d", i+1), "--role", "agent"}, args...)
		ch, _, err := startChild("guichet user add", c.bin, false, ua...)
		if err != nil {
			return driveResult{}, err
		}
		<-ch.done
		if ch.err != nil {
			return driveResult{}, fmt.Errorf("guichet user add: %v\n%s", ch.err, ch.out)
		}
	}
	var relay *child
	if c.relay {
		var raddr string
		if relay, raddr, err = startChild("relay sink", self, true, "sink", "--addr", "127.0.0.1:0", "--delay", c.slowRelay.String()); err != nil {
			return driveResult{}, err
		}
		defer relay.stop()
		args = append(args, "--relay", "smtp://"+raddr)
	}
	smtpAddr, err1 := freeAddr()
	httpAddr, err2 := freeAddr()
	if err := errors.Join(err1, err2); err != nil {
		return driveResult{}, err
	}
	srv, _, err := startChild("guichet serve", c.bin, false, append([]string{"serve", "--smtp-addr", smtpAddr, "--http-addr", httpAddr}, args...)...)
	if err != nil {
		return driveResult{}, err
	}
	defer srv.stop()
	if err := waitHealthy(ctx, srv, httpAddr); err != nil {
		return driveResult{}, err
	}
	progress("%s: guichet: %d warm-up + %d messages over %d connections", label, len(warm), len(meas), c.conns)
	res, err := measure(ctx, c, smtpAddr, warm, meas)
	if err != nil {
		return res, fmt.Errorf("guichet: %w\n%s", err, srv.out)
	}
	db, err := openRO(filepath.Join(dir, "guichet.db"))
	if err != nil {
		return res, err
	}
	defer db.Close()
	total := len(warm) + len(meas)
	e2e, err := waitProcessed(ctx, db, total, c.timeout)
	if err != nil {
		return res, err
	}
	r.Counts, r.Drain, err = waitDrained(ctx, db, c.drainWait)
	if err != nil {
		return res, err
	}
	r.Committed = res.Failed == 0 && r.Counts.Inbound == total && r.Counts.Processed == total &&
		r.Counts.Tickets == total && r.Counts.Confirmations == total
	r.Guichet = sideOf(res, srv.peakRSS())
	if r.Committed {
		r.Guichet.E2ERate = float64(res.OK) / (res.Elapsed + e2e).Seconds()
	}
	if relay != nil {
		r.RelayRSS = relay.peakRSS()
	}
	if err := srv.stop(); err != nil {
		progress("%s: %v", label, err)
	}
	r.LogErrors, r.FirstLog = srv.out.errorLines()
	return res, nil
}

// waitHealthy waits until the server's /healthz answers 200.
func waitHealthy(ctx context.Context, srv *child, httpAddr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-srv.done:
			return fmt.Errorf("guichet serve exited: %v\n%s", srv.err, srv.out)
		default:
		}
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("guichet serve not healthy within 15 s\n%s", srv.out)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "guichet-load: "+format+"\n", args...)
}
