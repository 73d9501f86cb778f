package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/spool"
	"github.com/guichet/guichet/ticket"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
)

// app is the database and the ticket service, opened for one command.
type app struct {
	db    *sqlx.DB
	svc   *ticket.Service
	blobs *blob.Store
	spool *spool.Spool // serve's spool (--spool), nil when off
}

// openSpool opens the spool folder when --spool says so: with "auto", for SQLite only.
func (a *app) openSpool(e *env) error {
	switch e.cfg.Spool {
	case "off":
		return nil
	case "on":
	default:
		if ticket.DialectOf(a.db) != ticket.SQLite {
			return nil
		}
	}
	sp, err := spool.Open(filepath.Join(e.cfg.DataDir, "spool"), spool.Options{MaxMessageSize: e.cfg.MaxMessageSize})
	if err != nil {
		return exitError{exitTempFail, err}
	}
	for _, b := range sp.SetAside() {
		args := []any{"segment", b.Segment, "offset", b.Offset, "length", b.Length, "reason", b.Reason, "copy", b.Copy}
		if b.Tail {
			e.log.Warn("spool: the end of a segment held no whole record: set aside (most likely a write a crash interrupted, never acknowledged)", args...)
		} else {
			e.log.Error("spool: damaged bytes set aside, the records after them kept; a message answered 250 may be in them", args...)
		}
	}
	a.spool = sp
	return nil
}

// spoolMetrics returns the spool's collectors: none when the spool is off.
func (a *app) spoolMetrics() []prometheus.Collector {
	if a.spool == nil {
		return nil
	}
	n := len(a.spool.SetAside())
	return []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "guichet_spool_set_aside_ranges",
		Help: "Damaged ranges of spool files that this start set aside under <data-dir>/spool/corrupt/ (see the log); above 0 an operator should look.",
	}, func() float64 { return float64(n) })}
}

// ownsDatabase reports whether no other serve can be using the database: a SQLite file
// in the data folder whose spool this process has locked. (With PostgreSQL, or a SQLite
// file named elsewhere, other instances may share it.)
func (a *app) ownsDatabase(e *env) bool {
	return a.spool != nil && ticket.DialectOf(a.db) == ticket.SQLite && sqliteInFolder(e.cfg.DB, e.cfg.DataDir)
}

// sqliteInFolder reports whether the SQLite database named db is a file of dataDir.
func sqliteInFolder(db, dataDir string) bool {
	p, err1 := filepath.Abs(strings.TrimPrefix(db, "sqlite://"))
	dir, err2 := filepath.Abs(dataDir)
	return err1 == nil && err2 == nil && filepath.Dir(p) == dir
}

// openApp creates the data folder, opens the database, applies pending migrations (so
// that the embedded default starts with no setup; PostgreSQL instances take a lock) and
// starts the ticket service. onOutbox is called when mail is queued.
func openApp(ctx context.Context, e *env, onOutbox func()) (*app, error) {
	c := e.cfg
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, exitError{exitTempFail, fmt.Errorf("create data folder: %w", err)}
	}
	db, _, err := ticket.Open(ctx, c.DB)
	if err != nil {
		return nil, exitError{exitTempFail, err}
	}
	applied, err := ticket.Migrate(ctx, db)
	if err != nil {
		db.Close()
		return nil, exitError{exitTempFail, err}
	}
	if len(applied) > 0 {
		e.log.Info("database migrated", "versions", fmt.Sprint(applied))
	}
	blobs, err := blob.Open(filepath.Join(c.DataDir, "attachments"))
	if err != nil {
		db.Close()
		return nil, exitError{exitTempFail, err}
	}
	key, name, _ := c.desk()
	sla, _ := c.sla() // checked by Validate
	svc, err := ticket.NewService(ctx, db, ticket.Options{
		SLA:     sla,
		DeskKey: key, DeskName: name, PublicURL: c.PublicURL, SupportAddress: c.SupportAddress,
		ReopenWindow: c.ReopenWindow, SenderPolicy: ticket.SenderPolicy(c.SenderPolicy), CommentAddress: c.CommentAddress, Logger: e.log.With("component", "ticket"), OnOutbox: onOutbox,
		Instance: c.InstanceID, DefaultRequestType: firstOf(list(c.RequestTypes)), RawBlobs: blobs,
		Unquote: (&unquoter{dir: c.TemplatesDir, log: e.log.With("component", "unquote")}).unquote,
	})
	if err != nil {
		db.Close()
		return nil, exitError{exitTempFail, err}
	}
	return &app{db: db, svc: svc, blobs: blobs}, nil
}

// openExisting opens the app for an administration command (user, establishment,
// ticket, inbound, token): unlike serve, migrate and ingest, these never create the data
// folder or a SQLite database. Run by another user or on a mistyped --data-dir, creating
// them would leave an empty database owned by that user, where serve later fails on
// permissions, and print an empty list as if there were no tickets.
func openExisting(ctx context.Context, e *env) (*app, error) {
	if err := checkExisting(e.cfg); err != nil {
		return nil, err
	}
	return openApp(ctx, e, nil)
}

// checkExisting reports, in both languages, a data folder or SQLite database that does
// not exist. With PostgreSQL the server answers for the database; the data folder
// (attachments) must still exist.
func checkExisting(c Config) error {
	if fi, err := os.Stat(c.DataDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("no data folder %s: check --data-dir (or data-dir in the configuration file, --config), or create it with 'guichet migrate' / "+
			"pas de dossier de données %s : vérifiez --data-dir (ou data-dir dans le fichier de configuration, --config), ou créez-le avec « guichet migrate »", c.DataDir, c.DataDir)
	}
	if strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://") {
		return nil
	}
	path := strings.TrimPrefix(c.DB, "sqlite://")
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("no database %s: run 'guichet migrate' to create it, or check --data-dir and --db (or the configuration file, --config) / "+
			"pas de base de données %s : lancez « guichet migrate » pour la créer, ou vérifiez --data-dir et --db (ou le fichier de configuration, --config)", path, path)
	}
	return nil
}

func (a *app) Close() {
	a.svc.Close() // processes what waits, marking it done in the spool
	if a.spool != nil {
		a.spool.Close()
	}
	a.db.Close()
}

func (a *app) supportDomain() string {
	_, d, _ := strings.Cut(a.svc.SupportAddress(), "@")
	return d
}

// firstOf is the first of a list, "" when it is empty.
func firstOf(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}
