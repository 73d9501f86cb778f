// Command guichet is the Guichet helpdesk gateway: `guichet serve` runs it; the other
// subcommands administer it (migrate, user, establishment, ticket, inbound, ingest,
// inspect, version). Run `guichet help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	_ "github.com/emersion/go-message/charset" // every charset that mail uses
)

// sysexits codes, for the MTA pipe transport and scripts.
const (
	exitOK       = 0
	exitUsage    = 64
	exitDataErr  = 65
	exitSoftware = 70
	exitTempFail = 75
)

const usage = `guichet: an email-driven helpdesk gateway

Usage:
  guichet serve [flags]                      run SMTP intake, the outbox sender and the web portal
  guichet ingest [--sender=ADDR] [--recipient=ADDR]... [flags] < message.eml
                                             store one message from an MTA pipe (exit 0 stored, 75 retry, 65 refused)
  guichet inspect [--json] [FILE]            show what Guichet makes of a message, storing nothing
  guichet migrate [flags]                    apply database migrations
  guichet user add EMAIL --name N --role customer|agent|admin [--uai UAI] [--lang fr|en] [--password-stdin]
  guichet establishment add UAI --name N [--academie A]
  guichet ticket list [--json] [--limit N] [--page P]
  guichet ticket show KEY [--json]
  guichet inbound list [--failed] [--json] [--limit N] [--page P]
                                             stored inbound messages (failed ones with their error)
  guichet token create EMAIL [--name N]      print a new API token for that user
  guichet user export EMAIL [--out DIR|FILE.zip]
                                             a person's data as JSON, with the files they sent
  guichet user erase EMAIL [--json]          anonymise a person (recorded in the audit log)
  guichet retention run [--retention P] [--dry-run] [--json]
                                             apply the retention policy now and say what it did
  guichet audit list [--json] [--limit N]    exports, erasures and retention runs, newest first
  guichet version

Every flag also reads GUICHET_<FLAG> (e.g. GUICHET_SMTP_ADDR), then the configuration file
(--config, default /etc/guichet/guichet.conf when it exists: name = value lines, e.g.
support-address = support@example.org). Run 'guichet serve -h' for flags.
`

// IO is where a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// DefaultConfig is the configuration file read when --config and GUICHET_CONFIG
	// name none, if it exists: main sets defaultConfigPath; tests leave it empty (none)
	// or point it at a file of theirs.
	DefaultConfig string
	// Ready, when set, is told the SMTP and HTTP addresses `serve` listens on once it
	// does (tests start it on port 0).
	Ready func(smtpAddr, httpAddr string)
}

// defaultGCPercent is the garbage collector's target (GOGC) when the environment sets
// none: a heap may grow to three times what is live between collections, instead of
// twice. Measured on the 2 KB load (`guichet-load --sizes 2k --no-mailpit`, CPU
// profiles of 10 s): the collector's share of the CPU went from 10 % to 4 %, peak RSS
// from 62 to 76 MB.
const defaultGCPercent = 200

// spareProcs is how many more Ps (GOMAXPROCS) than CPUs the server runs with when the
// environment sets none. The background work (the committer's transactions, the outbox's
// renders) runs in bursts of milliseconds; while such bursts hold every P, a sender's
// next command waits for one of them to end, or for the runtime's 10 ms poll of the
// network. With a spare P the command is read at once and the kernel shares the CPUs
// between the threads. Measured on the 2 KB load at a steady 500 msg/s
// (`guichet-load --rate 500 --sizes 2k`, 2 CPUs, six interleaved pairs of runs): p99 of
// the 250 10.6-14.7 → 9.3-10.9 ms, p50 2.2-2.7 → 1.9-2.2 ms, same CPU per message; the
// closed loop 790-794 → 803-874 msg/s.
// Setting it stops the runtime from following a container's CPU limit changed later
// (docs/reference.md says so).
const spareProcs = 2

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + spareProcs)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, DefaultConfig: defaultConfigPath}, stop)
	os.Exit(code)
}

// usageError is a mistake in the command line: exit 64 with the message.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// run executes one command and returns its exit code. stopSignals, when not nil, restores
// default signal handling so that a second signal kills the process.
func run(ctx context.Context, args []string, sio IO, stopSignals func()) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(sio.Stdout, usage)
		return exitOK
	}
	name, rest := args[0], args[1:]
	switch name {
	case "user", "establishment", "ticket", "inbound", "token", "retention", "audit":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(sio.Stderr, "guichet %s: a subcommand is needed\n\n%s", name, usage)
			return exitUsage
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(sio.Stderr, "guichet: unknown command %q\n\n%s", name, usage)
		return exitUsage
	}
	cfg, pos, conf, err := settings(name, rest, sio)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(sio.Stderr, "guichet %s: %v\n", name, err)
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return exitUsage
	}
	log := newLogger(sio.Stderr, cfg.LogLevel, cfg.LogFormat)
	warnConfMode(log, conf)
	env := &env{cfg: cfg, args: pos, io: sio, log: log, stopSignals: stopSignals}
	err = cmd(ctx, env)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(sio.Stderr, "guichet %s: %v\n", name, err)
	var ue usageError
	var ee exitError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// loadedConf is the configuration file a command read, nil when none.
type loadedConf struct {
	file *confFile
	info os.FileInfo
}

// settings fills the Config of command name from the command line, then the GUICHET_*
// variables, then the configuration file, then the built-in defaults, and checks it. It
// returns the positional arguments and the file read.
func settings(name string, args []string, sio IO) (Config, []string, *loadedConf, error) {
	var cfg Config
	fs := cfg.flags(name)
	fs.SetOutput(sio.Stderr)
	pos, err := parseArgs(fs, args, sio.Getenv)
	if err != nil {
		return cfg, nil, nil, err
	}
	// A mistake in the configuration file or the settings is a usage error, but for
	// ingest a temporary failure, so that the MTA keeps the mail while the administrator
	// fixes the file rather than bouncing it.
	confErr := exitUsage
	if name == "ingest" {
		confErr = exitTempFail
	}
	cf, info, err := loadConfFile(fs, &cfg, sio.Getenv, sio.DefaultConfig)
	if err == nil {
		err = applyConfFile(fs, cf, sio.Getenv)
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return cfg, nil, nil, exitError{confErr, err}
	}
	var conf *loadedConf
	if cf != nil {
		conf = &loadedConf{cf, info}
	}
	return cfg, pos, conf, nil
}

// env is what a command gets: its settings, positional arguments, streams and logger.
type env struct {
	cfg         Config
	args        []string
	io          IO
	log         *slog.Logger
	stopSignals func()
}

var commands = map[string]func(context.Context, *env) error{
	"serve":             cmdServe,
	"ingest":            cmdIngest,
	"inspect":           cmdInspect,
	"migrate":           cmdMigrate,
	"user add":          cmdUserAdd,
	"establishment add": cmdEstablishmentAdd,
	"ticket list":       cmdTicketList,
	"ticket show":       cmdTicketShow,
	"inbound list":      cmdInboundList,
	"token create":      cmdTokenCreate,
	"retention run":     cmdRetentionRun,
	"user export":       cmdUserExport,
	"user erase":        cmdUserErase,
	"audit list":        cmdAuditList,
	"version":           cmdVersion,
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opt := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}

// Version is set at build time with -ldflags "-X main.Version=…"; else the module's.
var Version = ""

func cmdVersion(ctx context.Context, e *env) error {
	v := Version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " " + s.Value[:12]
				}
			}
		}
	}
	fmt.Fprintf(e.io.Stdout, "guichet %s\n", v)
	return nil
}
