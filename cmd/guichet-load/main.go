// Command guichet-load measures Guichet's whole job on mail (SMTP intake, ticket,
// confirmation sent) against a bare go-smtp server that reads and discards each message
// (the sink) and against Mailpit (when a `mailpit` binary is found), in the same run,
// with the same messages, the same connections and the same client.
//
// For each message size it starts, as child processes on loopback, the sink (this binary
// in `sink` mode), Mailpit (its SQLite database in a fresh folder), and `guichet serve`
// on a fresh SQLite data folder (with --db, on a fresh PostgreSQL database; with
// --instances 2, two processes sharing it and --redis) whose --relay is a second sink
// that reports what it receives. Each is driven with a warm-up, then with N unique
// messages over C connections that reuse their SMTP session: in a closed loop (each
// connection sends again once answered), or with --rate in an open loop (message i is
// due at i/rate seconds, latency counted from then). A message is done at its 250 for
// the sink and Mailpit, and for Guichet when its confirmation reached the relay sink.
// It reports per server the rate of messages done, the latencies of the 250
// (p50/p90/p99), the CPU time per message (utime+stime from /proc/PID/stat over the
// measured window) and the peak RSS (VmHWM), then checks every message: one ticket and
// one confirmation each in Guichet's database, each confirmation received once by the
// relay sink, ticket numbers without gaps; every message stored by Mailpit.
//
//	go run ./cmd/guichet-load --bin /tmp/guichet [--messages N] [--conns 8] [--sizes 2k,200k] [--rate 500,50] [--json]
//	go run ./cmd/guichet-load --bin /tmp/guichet --db postgres://postgres@127.0.0.1/test?sslmode=disable \
//		--redis redis://127.0.0.1:6379/0 --instances 2
//	go run ./cmd/guichet-load sink [--addr 127.0.0.1:0] [--report]
//
// Everything listens on loopback; children die with this process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "sink" {
		err = runSink(ctx, os.Args[2:])
	} else {
		err = run(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "guichet-load:", err)
		stop()
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	bin       string
	db        string
	redis     string
	instances int
	messages  int
	conns     int
	sizes     []int
	labels    []string
	warmup    int
	agents    int
	rates     []float64
	duration  time.Duration
	mailpit   string
	debugAddr string
	repeat    int
	json      bool
	keep      bool
	drainWait time.Duration
	timeout   time.Duration
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("guichet-load", flag.ContinueOnError)
	fs.StringVar(&c.bin, "bin", "", "the guichet binary (go build -o /tmp/guichet ./cmd/guichet)")
	fs.StringVar(&c.db, "db", "", "postgres://… server on which each run gets a fresh database (dropped after); default SQLite in a fresh data folder")
	fs.StringVar(&c.redis, "redis", "", "redis://… passed to every instance (required with --instances above 1)")
	fs.IntVar(&c.instances, "instances", 1, "guichet serve processes sharing the database and Redis; the connections are split between them")
	fs.IntVar(&c.messages, "messages", 0, "messages measured per size (default 2000 up to 16k, 400 above)")
	fs.IntVar(&c.conns, "conns", 8, "concurrent SMTP connections")
	sizes := fs.String("sizes", "2k,200k", "message sizes, comma-separated (k = 1024 bytes)")
	fs.IntVar(&c.warmup, "warmup", 0, "messages sent before measuring (default 5% of N, at least 2 per connection)")
	fs.IntVar(&c.agents, "agents", 1, "agents created before serve: each new ticket also queues a mail to each")
	rates := fs.String("rate", "0", "open loop: messages started per second, one for all sizes or one per size, comma-separated (0: closed loop)")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "open loop: how long messages are started, when --messages is not given")
	fs.StringVar(&c.mailpit, "mailpit", "", "the Mailpit binary (default: mailpit on PATH or in Go's bin folder; go install github.com/axllent/mailpit@v1.33.1)")
	fs.IntVar(&c.repeat, "repeat", 1, "measure each size this many times (all servers each time) and print the ranges")
	noMailpit := fs.Bool("no-mailpit", false, "do not measure Mailpit")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "passed to the first guichet serve as --debug-addr, to profile it during the run")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON")
	fs.BoolVar(&c.keep, "keep", false, "keep Guichet's data folders")
	fs.DurationVar(&c.drainWait, "drain-wait", 20*time.Second, "how long to wait, after a run, for the outbox's other mail (agents') to be sent")
	fs.DurationVar(&c.timeout, "timeout", 45*time.Second, "longest drive of one server for one size")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.bin == "" {
		return c, errors.New("--bin is required (go build -o /tmp/guichet ./cmd/guichet)")
	}
	if c.db != "" && !isPostgres(c.db) {
		return c, errors.New("--db: a postgres://… URL expected (SQLite is the default)")
	}
	if c.instances < 1 || c.instances > 8 {
		return c, errors.New("--instances must be between 1 and 8")
	}
	if c.instances > 1 && (c.db == "" || c.redis == "") {
		return c, errors.New("--instances above 1 needs --db postgres://… and --redis redis://…")
	}
	if c.conns < c.instances {
		return c, errors.New("--conns must be at least --instances")
	}
	if c.conns < 1 || c.messages < 0 || c.messages > 100000 {
		return c, errors.New("--conns must be at least 1 and --messages at most 100000")
	}
	for s := range strings.SplitSeq(*sizes, ",") {
		s = strings.TrimSpace(strings.ToLower(s))
		mult := 1
		if t, ok := strings.CutSuffix(s, "k"); ok {
			s, mult = t, 1024
		}
		n, err := strconv.Atoi(s)
		if err != nil || n*mult < 512 || n*mult > 20<<20 {
			return c, fmt.Errorf("--sizes: %q is not a size between 512 and 20480k", s)
		}
		c.sizes = append(c.sizes, n*mult)
		c.labels = append(c.labels, strings.TrimSpace(s)+map[int]string{1: "B", 1024: "k"}[mult])
	}
	for s := range strings.SplitSeq(*rates, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || v < 0 || v > 100000 {
			return c, fmt.Errorf("--rate: %q is not a rate between 0 and 100000", s)
		}
		c.rates = append(c.rates, v)
	}
	if len(c.rates) != 1 && len(c.rates) != len(c.sizes) {
		return c, errors.New("--rate: one rate, or one per size")
	}
	if c.repeat < 1 || c.repeat > 20 {
		return c, errors.New("--repeat must be between 1 and 20")
	}
	if c.duration <= 0 {
		return c, errors.New("--duration must be positive")
	}
	if !*noMailpit {
		c.mailpit = findMailpit(c.mailpit)
	} else {
		c.mailpit = ""
	}
	return c, nil
}

// rateFor is the open-loop rate for size number i, 0 for a closed loop.
func (c config) rateFor(i int) float64 {
	if len(c.rates) == 1 {
		return c.rates[0]
	}
	return c.rates[i]
}

func run(ctx context.Context, args []string) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rows, err := measureAll(ctx, c, self)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(os.Stdout, rows)
	}
	printTable(os.Stdout, rows)
	if c.repeat > 1 {
		fmt.Fprintln(os.Stdout)
		printRanges(os.Stdout, rows)
	}
	return nil
}

// measureAll measures each size of c; self is the binary that serves the sinks (`self
// sink`).
func measureAll(ctx context.Context, c config, self string) ([]row, error) {
	if c.mailpit == "" {
		progress("no mailpit binary (go install github.com/axllent/mailpit@v1.33.1, or --mailpit): measuring the sink and Guichet only")
	}
	var rows []row
	for i, size := range c.sizes {
		for rep := range c.repeat {
			r, err := runSize(ctx, c, self, c.labels[i], size, c.rateFor(i))
			if err != nil {
				return rows, fmt.Errorf("%s: %w", c.labels[i], err)
			}
			r.Run = rep + 1
			rows = append(rows, r)
		}
	}
	return rows, nil
}
