// Command guichet-load measures Guichet's SMTP intake against a bare go-smtp server that
// reads and discards each message, in the same run and with the same client.
//
// For each message size it starts, as child processes, a discard sink (this binary in
// `sink` mode), then `guichet serve` on a fresh SQLite data folder (with --db, on a fresh
// PostgreSQL database; with --instances 2, two processes sharing it and --redis) whose
// --relay is a second discard sink (so the outbox worker really sends while intake
// runs), and drives each with N unique messages over C connections that reuse their
// SMTP session, split between the instances. It measures the rate and, per message, the
// time from the end of the data (".") to the reply; then checks in Guichet's database
// (SQLite or PostgreSQL) that every message is a processed ticket with its confirmation
// in the outbox, and reads the children's peak RSS (VmHWM; the largest instance's). The
// rate counts only when every message was committed.
//
//	go run ./cmd/guichet-load --bin /tmp/guichet [--messages N] [--conns 8] [--sizes 2k,200k] [--json]
//	go run ./cmd/guichet-load --bin /tmp/guichet --db postgres://postgres@127.0.0.1/test?sslmode=disable \
//		--redis redis://127.0.0.1:6379/0 --instances 2
//	go run ./cmd/guichet-load sink [--addr 127.0.0.1:0]
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
	relay     bool
	slowRelay time.Duration
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
	fs.BoolVar(&c.relay, "relay", true, "send Guichet's outbound mail to a discard sink (false: .eml files in the data folder)")
	fs.DurationVar(&c.slowRelay, "relay-delay", 0, "the relay sink answers each message after this long (e.g. 1m: the outbox sends nothing during the run)")
	fs.BoolVar(&c.json, "json", false, "print the results as JSON")
	fs.BoolVar(&c.keep, "keep", false, "keep Guichet's data folders")
	fs.DurationVar(&c.drainWait, "drain-wait", 20*time.Second, "how long to wait for the outbox to be sent after a run")
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
	return c, nil
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
	var rows []row
	for i, size := range c.sizes {
		r, err := runSize(ctx, c, self, c.labels[i], size)
		if err != nil {
			return fmt.Errorf("%s: %w", c.labels[i], err)
		}
		rows = append(rows, r)
	}
	if c.json {
		return printJSON(os.Stdout, rows)
	}
	printTable(os.Stdout, rows)
	return nil
}
