package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/guichet/guichet/internal/sqlitero"
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
	r := row{Size: label, Bytes: size, Conns: c.conns, N: n, Warmup: w, Target: targetRatioSmall, DB: "sqlite", Instances: c.instances}
	if c.db != "" {
		r.DB = "postgres"
	}
	if size > 16<<10 {
		r.Target = targetRatioLarge
	}

	progress("%s: sink: %d warm-up + %d messages over %d connections", label, w, n, c.conns)
	sink, addr, err := startChild("sink", self, true, "sink", "--addr", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	cpu := startCPU(sink)
	sr, err := measure(ctx, c, []string{addr}, warm, meas)
	sinkCPU, sinkClient := cpu.server(len(warm)+len(meas)), cpu.client(len(warm)+len(meas))
	rss := sink.peakRSS()
	if serr := sink.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return r, fmt.Errorf("sink: %w", err)
	}
	r.Sink = sideOf(sr, rss)
	r.Sink.CPU, r.Sink.ClientCPU = sinkCPU, sinkClient

	if _, err := runGuichet(ctx, c, self, label, warm, meas, &r); err != nil {
		return r, err
	}
	r.judge()
	return r, nil
}

// measure drives addrs with warm, then with meas, under c.timeout each.
func measure(ctx context.Context, c config, addrs []string, warm, meas []message) (driveResult, error) {
	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	wr := drive(wctx, addrs, rcpt, warm, c.conns)
	cancel()
	if wr.Failed > 0 || ctx.Err() != nil {
		return wr, fmt.Errorf("warm-up: %d failed: %s %v", wr.Failed, wr.FirstErr, ctx.Err())
	}
	mctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res := drive(mctx, addrs, rcpt, meas, c.conns)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// runGuichet starts the relay sink and c.instances `guichet serve` processes (on a fresh
// SQLite data folder, or a fresh PostgreSQL database with --db), drives them, the
// connections split between them, and verifies and fills r's Guichet side, counts and
// drain time.
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
	common := []string{"--log-level", "warn"}
	var pg *pgDatabase
	if c.db != "" {
		if pg, err = newPGDatabase(c.db); err != nil {
			return driveResult{}, err
		}
		defer func() { // after the servers stopped
			if c.keep {
				progress("%s: database %s kept", label, pg.name)
				pg.admin.Close()
			} else if err := pg.drop(); err != nil {
				progress("%s: %v", label, err)
			}
		}()
		common = append(common, "--db", pg.url)
	}
	if c.redis != "" {
		common = append(common, "--redis", c.redis)
	}
	dataDir := func(i int) string { return filepath.Join(dir, fmt.Sprintf("instance%d", i+1)) }
	// `guichet user add` refuses a database that does not exist yet: migrate creates it.
	if c.agents > 0 {
		ch, _, err := startChild("guichet migrate", c.bin, false, append([]string{"migrate", "--data-dir", dataDir(0)}, common...)...)
		if err != nil {
			return driveResult{}, err
		}
		<-ch.done
		if ch.err != nil {
			return driveResult{}, fmt.Errorf("guichet migrate: %v\n%s", ch.err, ch.out)
		}
	}
	for i := range c.agents {
		ua := append([]string{"user", "add", fmt.Sprintf("agent%d@localhost", i+1), "--name", fmt.Sprintf("Agent %d", i+1), "--role", "agent",
			"--data-dir", dataDir(0)}, common...)
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
		common = append(common, "--relay", "smtp://"+raddr)
	}
	var (
		srvs      []*child
		smtpAddrs []string
	)
	defer func() {
		for _, s := range srvs {
			s.stop()
		}
	}()
	// One after the other: the first applies the migrations.
	for i := range c.instances {
		smtpAddr, err1 := freeAddr()
		httpAddr, err2 := freeAddr()
		if err := errors.Join(err1, err2); err != nil {
			return driveResult{}, err
		}
		args := append([]string{"serve", "--data-dir", dataDir(i), "--smtp-addr", smtpAddr, "--http-addr", httpAddr}, common...)
		srv, _, err := startChild(fmt.Sprintf("guichet serve #%d", i+1), c.bin, false, args...)
		if err != nil {
			return driveResult{}, err
		}
		srvs = append(srvs, srv)
		if err := waitHealthy(ctx, srv, httpAddr); err != nil {
			return driveResult{}, err
		}
		smtpAddrs = append(smtpAddrs, smtpAddr)
	}
	progress("%s: guichet (%s, %d instance(s)): %d warm-up + %d messages over %d connections",
		label, r.DB, c.instances, len(warm), len(meas), c.conns)
	cpu := startCPU(srvs...)
	res, err := measure(ctx, c, smtpAddrs, warm, meas)
	clientCPU := cpu.client(len(warm) + len(meas)) // before polling the database
	if err != nil {
		return res, fmt.Errorf("guichet: %w\n%s", err, srvs[0].out)
	}
	var db *sql.DB
	if pg != nil {
		db, err = pg.open()
	} else {
		db, err = sqlitero.Open(filepath.Join(dataDir(0), "guichet.db"))
	}
	if err != nil {
		return res, err
	}
	defer db.Close()
	total := len(warm) + len(meas)
	e2e, err := waitProcessed(ctx, db, total, c.timeout)
	if err != nil {
		return res, err
	}
	srvCPU := cpu.server(total)
	r.Counts, r.Drain, err = waitDrained(ctx, db, c.drainWait)
	if err != nil {
		return res, err
	}
	r.Committed = res.Failed == 0 && r.Counts.Inbound == total && r.Counts.Processed == total &&
		r.Counts.Tickets == total && r.Counts.Confirmations == total
	var rss int64 // the largest instance's
	for _, s := range srvs {
		rss = max(rss, s.peakRSS())
	}
	r.Guichet = sideOf(res, rss)
	r.Guichet.CPU, r.Guichet.ClientCPU = srvCPU, clientCPU
	if r.Committed {
		r.Guichet.E2ERate = float64(res.OK) / (res.Elapsed + e2e).Seconds()
	}
	if relay != nil {
		r.RelayRSS = relay.peakRSS()
	}
	for _, s := range srvs {
		if err := s.stop(); err != nil {
			progress("%s: %v", label, err)
		}
		n, first := s.out.errorLines()
		if r.LogErrors == 0 {
			r.FirstLog = first
		}
		r.LogErrors += n
	}
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
