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
	"slices"
	"time"

	"github.com/guichet/guichet/internal/sqlitero"
)

const rcpt = "support@localhost"

// messageCount is how many messages are measured for one size: --messages, else rate ×
// --duration for an open loop, else 2000 up to 16 KiB, 400 up to 1 MiB, and four per
// connection above.
func (c config) messageCount(size int, rate float64) int {
	switch {
	case c.messages > 0:
		return c.messages
	case rate > 0:
		return max(1, min(100000, int(rate*c.duration.Seconds())))
	case size <= 16<<10:
		return 2000
	case size <= 1<<20:
		return 400
	}
	return 4 * c.conns
}

// runSize measures the sink, then Mailpit (when there is one), then Guichet, with the
// same messages of one size, the same connections and the same loop.
func runSize(ctx context.Context, c config, self, label string, size int, rate float64) (row, error) {
	n := c.messageCount(size, rate)
	w := c.warmup
	if w == 0 {
		w = max(n/20, 2*c.conns)
		if size > 1<<20 {
			w = c.conns
		}
	}
	var tb [4]byte
	rand.Read(tb[:])
	msgs := makeMessages("load-"+hex.EncodeToString(tb[:]), 0, n+w, size)
	warm, meas := msgs[n:], msgs[:n]
	r := row{Size: label, Bytes: size, Conns: c.conns, N: n, Warmup: w, Rate: rate, DB: "sqlite", Instances: c.instances}
	if c.db != "" {
		r.DB = "postgres"
	}
	loop := "closed loop"
	if rate > 0 {
		loop = fmt.Sprintf("open loop at %g msg/s", rate)
	}

	progress("%s: sink: %d warm-up + %d messages over %d connections, %s", label, w, n, c.conns, loop)
	sink, addr, err := startChild("sink", self, true, "sink", "--addr", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	r.Sink, err = measurePeer(ctx, c, []*child{sink}, smtpDialer([]string{addr}, rcpt), warm, meas, rate, nil)
	if serr := sink.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return r, fmt.Errorf("sink: %w", err)
	}
	r.Sink.Check, r.Sink.Verified = "-", true

	if c.mailpit != "" {
		progress("%s: mailpit: same messages", label)
		s, err := runMailpit(ctx, c, warm, meas, rate)
		if err != nil {
			return r, fmt.Errorf("mailpit: %w", err)
		}
		r.Mailpit = &s
	}

	progress("%s: guichet (%s, %d instance(s)): same messages", label, r.DB, c.instances)
	if err := runGuichet(ctx, c, self, label, warm, meas, rate, &r); err != nil {
		return r, err
	}
	r.judge()
	return r, nil
}

// measurePeer drives srvs (through dial) with warm in a closed loop, then measures them
// with meas, in a closed loop or at rate. A message is done at its 250, or, with
// settle, when settle says its whole job is done (Guichet: its confirmation reached the
// relay sink); the measured window runs from the first measured message to the last one
// done, and the servers' CPU time is taken over it.
func measurePeer(ctx context.Context, c config, srvs []*child, dial dialFunc, warm, meas []message, rate float64,
	settle func([]message) (time.Time, error)) (side, error) {
	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	wr := drive(wctx, dial, warm, c.conns, 0)
	cancel()
	if wr.Failed > 0 || ctx.Err() != nil {
		return side{}, fmt.Errorf("warm-up: %d failed: %s %v", wr.Failed, wr.FirstErr, ctx.Err())
	}
	if settle != nil {
		if _, err := settle(warm); err != nil {
			return side{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	cpu := startCPU(srvs...)
	mctx, cancel := context.WithTimeout(ctx, c.timeout)
	res := drive(mctx, dial, meas, c.conns, rate)
	cancel()
	if ctx.Err() != nil {
		return side{}, ctx.Err()
	}
	end := res.Start.Add(res.Elapsed)
	if settle != nil && res.Failed == 0 {
		last, err := settle(meas)
		if err != nil {
			return side{}, err
		}
		if last.After(end) {
			end = last
		}
	}
	s := sideOf(res)
	s.start = res.Start
	s.Window = end.Sub(res.Start)
	if s.Window > 0 {
		s.Rate = float64(res.OK) / s.Window.Seconds()
	}
	s.CPU, s.ClientCPU = cpu.server(len(meas)), cpu.client(len(meas))
	for _, srv := range srvs { // the largest instance's
		s.PeakRSS = max(s.PeakRSS, srv.peakRSS())
	}
	return s, nil
}

// runMailpit measures Mailpit, its SQLite database in a fresh folder, and checks that it
// stored every message.
func runMailpit(ctx context.Context, c config, warm, meas []message, rate float64) (side, error) {
	dir, err := os.MkdirTemp("", "guichet-load-mailpit-*")
	if err != nil {
		return side{}, err
	}
	defer os.RemoveAll(dir)
	mp, err := startMailpit(ctx, c.mailpit, dir)
	if err != nil {
		return side{}, err
	}
	defer mp.stop()
	s, err := measurePeer(ctx, c, []*child{mp.child}, smtpDialer([]string{mp.smtpAddr}, rcpt), warm, meas, rate, nil)
	if err != nil {
		return s, fmt.Errorf("%w\n%s", err, mp.out)
	}
	n, err := mp.stored(ctx)
	if err != nil {
		return s, err
	}
	total := len(warm) + len(meas)
	s.Verified = n == total
	s.Check = fmt.Sprintf("%d/%d stored", n, total)
	return s, mp.stop()
}

// runGuichet starts the relay sink and c.instances `guichet serve` processes (on a fresh
// SQLite data folder, or a fresh PostgreSQL database with --db), measures them, the
// connections split between them, a message done when its confirmation reached the
// relay sink, and checks the database and the sink: one ticket and one confirmation per
// message, keys without gaps.
func runGuichet(ctx context.Context, c config, self, label string, warm, meas []message, rate float64, r *row) error {
	dir, err := os.MkdirTemp("", "guichet-load-*")
	if err != nil {
		return err
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
			return err
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
	if err := addAgents(c, dataDir(0), common); err != nil {
		return err
	}
	relays := newRelayLog()
	relay, raddr, err := startChildLines("relay sink", self, true, relays.line, "sink", "--addr", "127.0.0.1:0", "--report")
	if err != nil {
		return err
	}
	defer relay.stop()
	common = append(common, "--relay", "smtp://"+raddr)
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
			return err
		}
		args := append([]string{"serve", "--data-dir", dataDir(i), "--smtp-addr", smtpAddr, "--http-addr", httpAddr}, common...)
		if c.debugAddr != "" && i == 0 {
			args = append(args, "--debug-addr", c.debugAddr)
		}
		srv, _, err := startChild(fmt.Sprintf("guichet serve #%d", i+1), c.bin, false, args...)
		if err != nil {
			return err
		}
		srvs = append(srvs, srv)
		if err := waitHealthy(ctx, srv, httpAddr); err != nil {
			return err
		}
		smtpAddrs = append(smtpAddrs, smtpAddr)
	}
	settle := func(ms []message) (time.Time, error) {
		return relays.wait(ctx, senders(ms), c.timeout)
	}
	s, err := measurePeer(ctx, c, srvs, smtpDialer(smtpAddrs, rcpt), warm, meas, rate, settle)
	if err != nil {
		return fmt.Errorf("guichet: %w\n%s", err, srvs[0].out)
	}
	var db *sql.DB
	if pg != nil {
		db, err = pg.open()
	} else {
		db, err = sqlitero.Open(filepath.Join(dataDir(0), "guichet.db"))
	}
	if err != nil {
		return err
	}
	defer db.Close()
	total := len(warm) + len(meas)
	r.Counts, r.Drain, err = waitDrained(ctx, db, c.drainWait)
	if err != nil {
		return err
	}
	keys, err := checkKeys(ctx, db)
	if err != nil {
		return err
	}
	dup := 0
	for _, m := range append(warm[:len(warm):len(warm)], meas...) {
		if relays.count(m.from) != 1 {
			dup++
		}
	}
	r.Keys = keys
	if rate > 0 {
		s.DoneP50, s.DoneP99 = doneLatency(relays, meas, s.start, rate)
	}
	s.Verified = s.Failed == 0 && r.Counts.Inbound == total && r.Counts.Processed == total &&
		r.Counts.Tickets == total && r.Counts.Confirmations == total && keys.NoGaps && dup == 0
	s.Check = fmt.Sprintf("%d/%d tickets, %d confirmations, %d relayed (%d not once), keys %s",
		r.Counts.Tickets, total, r.Counts.Confirmations, total-dup, dup, keys)
	r.Guichet = s
	r.RelayRSS = relay.peakRSS()
	for i, srv := range srvs {
		if err := srv.stop(); err != nil {
			progress("%s: %v", label, err)
		}
		if c.keep { // the end of its log, beside its data
			if err := os.WriteFile(dataDir(i)+".log", []byte(srv.out.String()+"\n"), 0o644); err != nil {
				progress("%s: %v", label, err)
			}
		}
		n, first := srv.out.errorLines()
		if r.LogErrors == 0 {
			r.FirstLog = first
		}
		r.LogErrors += n
	}
	return nil
}

// doneLatency returns the p50 and p99, over meas sent in an open loop at rate from start,
// of the time from each message's scheduled start to its confirmation's arrival at the
// relay sink.
func doneLatency(relays *relayLog, meas []message, start time.Time, rate float64) (p50, p99 time.Duration) {
	l := make([]time.Duration, 0, len(meas))
	for i, m := range meas {
		if t := relays.firstAt(m.from); !t.IsZero() {
			l = append(l, t.Sub(dueAt(start, rate, i)))
		}
	}
	slices.Sort(l)
	return pct(l, 0.5), pct(l, 0.99)
}

// senders returns the messages' envelope senders: each gets the confirmation of its
// message.
func senders(ms []message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.from
	}
	return out
}

// addAgents creates c.agents agents before serve, so that each new ticket also queues a
// mail to each.
func addAgents(c config, dataDir string, common []string) error {
	if c.agents == 0 {
		return nil
	}
	// `guichet user add` refuses a database that does not exist yet: migrate creates it.
	ch, _, err := startChild("guichet migrate", c.bin, false, append([]string{"migrate", "--data-dir", dataDir}, common...)...)
	if err != nil {
		return err
	}
	<-ch.done
	if ch.err != nil {
		return fmt.Errorf("guichet migrate: %v\n%s", ch.err, ch.out)
	}
	for i := range c.agents {
		ua := append([]string{"user", "add", fmt.Sprintf("agent%d@localhost", i+1), "--name", fmt.Sprintf("Agent %d", i+1), "--role", "agent",
			"--data-dir", dataDir}, common...)
		ch, _, err := startChild("guichet user add", c.bin, false, ua...)
		if err != nil {
			return err
		}
		<-ch.done
		if ch.err != nil {
			return fmt.Errorf("guichet user add: %v\n%s", ch.err, ch.out)
		}
	}
	return nil
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
