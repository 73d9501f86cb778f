package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/guichet/guichet/mailin"
	"github.com/guichet/guichet/mailout"
	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/web"
)

// cmdServe runs the gateway: SMTP (or LMTP) intake, the outbox sender and the HTTP side,
// until SIGINT or SIGTERM. Shutdown goes in reverse: listeners first (SMTP sessions in
// flight end in 250 or 4xx), then the sender, then the database.
func cmdServe(ctx context.Context, e *env) error {
	if e.cfg.InstanceID == "" {
		e.cfg.InstanceID = defaultInstanceID(e.cfg.DataDir)
	}
	c := e.cfg
	cs, closeCoord, err := newCoord(ctx, e)
	if err != nil {
		return err
	}
	// Mail queued here or on another instance wakes the sender at once.
	outboxWake, raiseOutbox := cs.signal("outbox")
	a, err := openApp(ctx, e, raiseOutbox)
	if err != nil {
		closeCoord()
		return err
	}
	defer a.Close()
	defer closeCoord() // before the database
	intake := newIntake(e, a)
	intake.Queue = true // 250 once stored; processing follows in the committer
	if n, err := mailin.CleanStage(intake.StageDir, time.Hour); err != nil {
		e.log.Warn("stage folder not cleaned", slog.Any("error", err))
	} else if n > 0 {
		e.log.Info("unfinished received messages removed from the stage folder (never acknowledged)", "count", n)
	}
	if err := a.openSpool(e); err != nil {
		return err
	}
	if st, err := a.svc.Reprocess(ctx, intake.Parse, 5); err != nil {
		e.log.Error("retrying stored messages failed", slog.Any("error", err))
	} else if st.Tried > 0 {
		e.log.Info("stored messages retried", "tried", st.Tried, "processed", st.Processed, "failed", st.Failed)
	}
	// Claims under this instance's identity are those of its previous run, which died
	// (two instances running with one identity are a configuration error: see
	// --instance-id). Other instances' claims wait for their lease: they may be sending.
	if released, err := a.svc.ReleaseInstanceClaims(ctx, c.InstanceID); err != nil {
		return err
	} else if released > 0 {
		e.log.Info("outbox mail claimed by this instance's earlier run released: sent again now (a relay may get some twice)",
			"count", released, "instance", c.InstanceID)
	}
	if a.spool != nil {
		// 250 once in the spool; storing and processing follow in the committer
		intake.Spool = mailin.Spooler{S: a.spool}
		n, err := intake.Replay(ctx, a.spool, a.svc)
		if err != nil {
			return err
		}
		if n > 0 {
			e.log.Info("spooled messages queued again (those already in the database are skipped as duplicates)", "count", n)
		}
		if a.ownsDatabase(e) {
			// The spool's lock makes this the only serve on this database, and only
			// serve sends: outbox claims left are those of a process that died.
			released, err := a.svc.ReleaseStaleClaims(ctx)
			if err != nil {
				return err
			}
			if released > 0 {
				e.log.Info("outbox mail claimed by an earlier run released: sent again now (a relay may get some twice)", "count", released)
			}
		}
	}

	worker, relayHealth, relay, err := newWorker(e, a, outboxWake)
	if err != nil {
		return err
	}
	if relay != nil {
		go probeRelay(ctx, e, relay)
	}
	if c.Relay == "" {
		stopClean := cleanSentTemp(e, mailout.NewDirSender(filepath.Join(c.DataDir, "sent")))
		defer stopClean()
	}
	var tlsConfig *tls.Config
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	smtpSrv, err := mailin.NewSMTPServer(mailin.SMTPOptions{
		Addr: c.SMTPAddr, LMTP: c.LMTP, Domain: a.supportDomain(),
		SupportAddresses: []string{a.svc.SupportAddress()}, MaxMessageBytes: c.MaxMessageSize,
		TLSConfig: tlsConfig, Logger: e.log, Deliverer: intake,
		MaxSessionTime: orNoLimit(c.SMTPSessionMax), MaxJunkCommands: orNoLimit(c.SMTPJunkCommandLimit),
		MaxErrors: orNoLimit(c.SMTPErrorLimit), MaxConnections: orNoLimit(c.SMTPMaxConnections),
		MaxConnectionsPerIP: orNoLimit(c.SMTPMaxConnsPerIP),
	})
	if err != nil {
		return err
	}
	smtpLn, err := net.Listen("tcp", c.SMTPAddr)
	if err != nil {
		return fmt.Errorf("listen for SMTP on %s: %w", c.SMTPAddr, err)
	}
	httpLn, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		smtpLn.Close()
		return fmt.Errorf("listen for HTTP on %s: %w", c.HTTPAddr, err)
	}
	pollers, err := newIMAPPollers(e, a, intake, cs.Locker)
	if err != nil {
		smtpLn.Close()
		httpLn.Close()
		return err
	}
	pages, err := templates.NewWeb(c.TemplatesDir)
	if err != nil {
		smtpLn.Close()
		httpLn.Close()
		return err
	}
	brand, err := c.brand()
	if err != nil {
		smtpLn.Close()
		httpLn.Close()
		return err
	}
	checks := cs.checks(map[string]web.Pinger{"database": a.svc, "intake": intake})
	maps.Copy(checks, diskChecks(c, a.spool != nil, freeSpace))
	if relayHealth != nil {
		checks["relay"] = relayHealth
	}
	metrics := newMetrics(a.svc, intake, pollers, append(cs.collectors(), a.spoolMetrics()...)...)
	var portalMetrics http.Handler
	onPortal, metricsAddr := metricsRoute(c.HTTPAddr, c.MetricsAddr)
	if onPortal {
		portalMetrics = metrics
	}
	stopMetrics := func(context.Context) {}
	if metricsAddr != "" {
		addr, stop, err := startMetrics(e, metricsAddr, metrics)
		if err != nil {
			smtpLn.Close()
			httpLn.Close()
			return err
		}
		stopMetrics = stop
		e.log.Info("metrics listening", "addr", addr)
	} else if !onPortal && c.MetricsAddr == "" {
		e.log.Info("/metrics is not served on a --http-addr that is not loopback; --metrics-addr says where", "http", c.HTTPAddr)
	}
	httpSrv := &http.Server{
		Handler: web.New(web.Options{
			Checks:  checks,
			Metrics: portalMetrics,
			Logger:  e.log.With("component", "web"),
			Portal:  a.svc, Tickets: a.svc, Blobs: a.blobs, Pages: pages, Backoff: webBackoff{cs.Backoff}, PublicURL: c.PublicURL,
			Academies: list(c.Academies), RequestTypes: list(c.RequestTypes),
			Components: map[string][]string{"": list(c.Components)}, Secret: a.svc.Key("web-form"),
			Brand: brand,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
	}

	errc := make(chan error, 3)
	go func() { errc <- wrapServe("smtp", smtpSrv.Serve(smtpLn)) }()
	go func() { errc <- wrapServe("http", httpSrv.Serve(httpLn)) }()
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan error, 1)
	go func() { workerDone <- worker.Run(workerCtx) }()
	stopIMAP := runIMAP(e, pollers)
	stopSweep := sweepStale(e, a, intake)
	defer stopSweep()
	stopSLA := watchSLA(e, a)
	defer stopSLA()
	stopRetention := watchRetention(e, a)
	defer stopRetention()
	stopDebug, err := startDebug(e)
	if err != nil {
		errc <- err
	}
	defer stopDebug()
	if e.io.Ready != nil {
		e.io.Ready(smtpLn.Addr().String(), httpLn.Addr().String())
	}
	proto := "SMTP"
	if c.LMTP {
		proto = "LMTP"
	}
	e.log.Info("guichet is running", "smtp", smtpLn.Addr().String(), "protocol", proto, "http", httpLn.Addr().String(),
		"support_address", a.svc.SupportAddress(), "db", c.redacted().DB, "relay", relayName(c),
		"trusted_relays", c.TrustedRelays, "instance", c.InstanceID)

	var runErr error
	select {
	case <-ctx.Done():
		e.log.Info("shutting down")
	case runErr = <-errc:
		e.log.Error("listener stopped", slog.Any("error", runErr))
	}
	if e.stopSignals != nil {
		e.stopSignals() // a second signal kills the process
	}
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownGrace)
	defer cancel()
	if err := smtpSrv.Shutdown(sctx); err != nil {
		e.log.Warn("SMTP shutdown", slog.Any("error", err))
	}
	if err := httpSrv.Shutdown(sctx); err != nil {
		e.log.Warn("HTTP shutdown", slog.Any("error", err))
	}
	stopMetrics(sctx)
	stopIMAP(sctx)
	stopWorker()
	select {
	case <-workerDone:
	case <-sctx.Done():
		e.log.Warn("outbox sender did not stop in time")
	}
	e.log.Info("stopped")
	return runErr
}

func wrapServe(what string, err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func relayName(c Config) string {
	if c.Relay == "" {
		return "files in " + filepath.Join(c.DataDir, "sent")
	}
	p, _ := c.relayTLS() // checked by Validate
	if u, err := url.Parse(c.Relay); err == nil {
		p = p.For(u.Hostname())
	}
	return c.redacted().Relay + " (TLS " + p.String() + ")"
}

// probeRelay opens a session with the relay at start, in the background, and logs a
// warning when it fails: a wrong certificate, password or address shows at once rather
// than at the first mail. It blocks nothing and counts for nothing on /healthz (a relay
// may be down for a moment while the machine boots); the sends decide that.
func probeRelay(ctx context.Context, e *env, rs *mailout.RelaySender) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := rs.Probe(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("the relay cannot take mail now: mail waits and is retried", "relay", rs.String(),
			"relay_tls", rs.Policy().String(), slog.Any("error", err))
	}
}

// newWorker builds the outbox sender: the relay when --relay is set, else .eml files.
// With a relay it also returns the relay's /healthz check, which the worker feeds, and
// the relay.
func newWorker(e *env, a *app, wake <-chan struct{}) (*mailout.Worker, *mailout.RelayHealth, *mailout.RelaySender, error) {
	tpl, err := templates.New(e.cfg.TemplatesDir)
	if err != nil {
		return nil, nil, nil, err
	}
	var rs *mailout.RelaySender
	var sender mailout.Sender
	var health *mailout.RelayHealth
	if e.cfg.Relay != "" {
		policy, err := e.cfg.relayTLS()
		if err != nil {
			return nil, nil, nil, err
		}
		if e.cfg.RelayInsecure {
			e.log.Warn("--relay-insecure-skip-verify is deprecated: use --relay-tls opportunistic")
		}
		rs, err = mailout.NewRelaySender(e.cfg.Relay, mailout.RelayOptions{LocalName: a.supportDomain(), TLS: policy})
		if err != nil {
			return nil, nil, nil, err
		}
		e.log.Debug("outbound relay", "relay", rs.String(), "relay_tls", rs.Policy().String())
		sender = rs
		health = &mailout.RelayHealth{Logger: e.log.With("component", "mailout")}
	} else {
		sender = mailout.NewDirSender(filepath.Join(e.cfg.DataDir, "sent"))
	}
	attachMax := e.cfg.MailAttachMax
	if attachMax <= 0 {
		attachMax = -1 // --mail-attach-max 0: no file attached (mailout's 0 is its default)
	}
	opt := mailout.Options{
		Queue: a.svc, Sender: sender, Templates: tpl, Blobs: a.blobs, From: a.svc.SupportAddress(),
		Logger: e.log, Wake: wake, Lease: e.cfg.OutboxLease, MaxAttachBytes: attachMax,
	}
	if health != nil {
		opt.Observer = health // an untyped nil would be a non-nil interface
	}
	return mailout.NewWorker(opt), health, rs, nil
}

// sendQueued sends the mail that is due now (used by ingest, which has no running sender).
func sendQueued(ctx context.Context, e *env, a *app) error {
	w, _, _, err := newWorker(e, a, nil)
	if err != nil {
		return err
	}
	return w.Drain(ctx)
}

// startDebug serves Go's profiler on --debug-addr (off when empty) on its own listener,
// never on the public HTTP address.
func startDebug(e *env) (stop func(), err error) {
	if e.cfg.DebugAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", e.cfg.DebugAddr)
	if err != nil {
		return func() {}, fmt.Errorf("listen for --debug-addr %s: %w", e.cfg.DebugAddr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	e.log.Info("profiler listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// sweepStale processes, every quarter of --stale-after, the messages stored longer ago
// than that and still pending: those of an instance that died between its 250 and their
// processing (a live one processes its own within seconds; the row claim keeps the two
// from both doing it).
func sweepStale(e *env, a *app, intake *mailin.Intake) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(e.cfg.StaleAfter/4, time.Second))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if n, err := a.svc.RetryParked(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("retrying spooled messages failed", slog.Any("error", err))
			} else if n > 0 {
				e.log.Warn("spooled messages the database refused queued again", "count", n)
			}
			st, err := a.svc.ReprocessStale(ctx, intake.Parse, e.cfg.StaleAfter)
			if err != nil && ctx.Err() == nil {
				e.log.Error("processing stale stored messages failed", slog.Any("error", err))
			} else if st.Tried > 0 {
				e.log.Warn("stale stored messages processed", "tried", st.Tried, "processed", st.Processed, "failed", st.Failed)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// watchSLA sends the SLA warnings and records the breaches when they fall due: it sleeps
// until the next one the database plans, a minute at most (tickets created or changed in
// the meantime, here or on another instance, may plan an earlier one).
func watchSLA(e *env, a *app) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if a.svc.SLAPolicy() == nil {
		close(done)
		return cancel
	}
	go func() {
		defer close(done)
		for {
			wait := time.Minute
			n, next, err := a.svc.CheckSLA(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				e.log.Error("checking SLA deadlines failed", slog.Any("error", err))
			case n > 0:
				e.log.Info("SLA deadlines checked", "tickets", n)
			}
			if !next.IsZero() {
				wait = min(wait, max(time.Until(next), time.Second))
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// orNoLimit turns a flag's 0 (no limit) into mailin's negative value for it: there a
// zero option takes the default.
func orNoLimit[T int | time.Duration](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// cleanSentTemp removes the temporary files that writes killed mid-way left in the
// sent folder: at start, those older than mailout.StaleTempAge (a younger one may be a
// `guichet ingest` writing now), and once more that long after, for those that were too
// young at start. Nothing runs in between: an idle server stays idle.
func cleanSentTemp(e *env, d *mailout.DirSender) (stop func()) {
	clean := func() {
		n, err := d.RemoveStaleTemp(mailout.StaleTempAge)
		if err != nil {
			e.log.Warn("removing temporary files left in the sent folder", slog.Any("error", err))
		}
		if n > 0 {
			e.log.Info("temporary files left in the sent folder by an interrupted write removed", "count", n, "folder", d.Dir)
		}
	}
	clean()
	t := time.AfterFunc(mailout.StaleTempAge+time.Minute, clean)
	return func() { t.Stop() }
}

// brand is what the portal shows of the service: --portal-name, --portal-welcome,
// --portal-logo (read and checked here), --support-phone, --support-hours.
func (c *Config) brand() (web.Brand, error) {
	b := web.Brand{Name: web.ParseBilingual(c.PortalName), Welcome: web.ParseBilingual(c.PortalWelcome),
		Phone: strings.TrimSpace(c.SupportPhone), Hours: web.ParseBilingual(c.SupportHours)}
	if c.PortalLogo != "" {
		f, err := os.Open(c.PortalLogo)
		if err != nil {
			return web.Brand{}, fmt.Errorf("--portal-logo: %w", err)
		}
		defer f.Close()
		// One byte past the limit, so that CheckLogo refuses a bigger file without
		// reading all of it.
		logo, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
		if err != nil {
			return web.Brand{}, fmt.Errorf("--portal-logo: %w", err)
		}
		if err := web.CheckLogo(logo); err != nil {
			return web.Brand{}, fmt.Errorf("--portal-logo %s: %w", c.PortalLogo, err)
		}
		b.Logo = logo
	}
	return b, nil
}
