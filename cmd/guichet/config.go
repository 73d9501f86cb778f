package main

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/guichet/guichet/bizhours"
	"github.com/guichet/guichet/mailin"
	"github.com/guichet/guichet/mailout"
	"github.com/guichet/guichet/ticket"
)

// Config is every setting of every command, filled from flags, then from GUICHET_* env
// variables for the flags not given, then checked by Validate.
type Config struct {
	DataDir        string
	DB             string
	Redis          string
	SMTPAddr       string
	LMTP           bool
	HTTPAddr       string
	PublicURL      string
	SupportAddress string
	Desk           string
	Relay          string
	RelayInsecure  bool
	RelayTLS       string
	InstanceID     string
	IMAP           multiFlag
	TLSCert        string
	TLSKey         string
	TemplatesDir   string
	MaxMessageSize int64
	ReopenWindow   time.Duration
	// The desk's SLAs (package bizhours, ticket.SLAPolicy).
	BusinessHours    string
	SLAFirstResponse time.Duration
	SLAResolution    time.Duration
	SLAWarnBefore    time.Duration
	SenderPolicy     string
	Academies        string
	Components       string
	RequestTypes     string
	PortalName       string
	PortalWelcome    string
	PortalLogo       string
	SupportPhone     string
	SupportHours     string
	CommentAddress   string
	AuthServID       string
	CheckDKIM        bool
	TrustedRelays    string
	LogLevel         string
	LogFormat        string
	ShutdownGrace    time.Duration
	OutboxLease      time.Duration
	MailAttachMax    int64
	DebugAddr        string
	StaleAfter       time.Duration
	Spool            string
	MinFreeSpace     int64
	MetricsAddr      string

	// Limits of the SMTP/LMTP listener; 0 turns one off.
	SMTPSessionMax       time.Duration
	SMTPJunkCommandLimit int
	SMTPErrorLimit       int
	SMTPMaxConnections   int
	SMTPMaxConnsPerIP    int

	// Command-specific options.
	JSON          bool
	Name          string
	Role          string
	UAI           string
	Academie      string
	Lang          string
	PasswordStdin bool
	Failed        bool
	Limit         int
	Page          int
	NoSend        bool
	ConfigFile    string    // --config: the configuration file (conffile.go)
	Sender        optString // ingest --sender: the envelope sender, "" the null sender
	Recipients    multiFlag // ingest --recipient: the envelope recipients
	// Retention and personal data (privacy.go): serve's and retention run's
	// --retention, retention run's --dry-run, user export's --out.
	Retention retentionPeriod
	DryRun    bool
	Out       string
}

type multiFlag []string

// optString is a string flag that tells "given empty" from "not given": ingest's
// --sender= is the null sender, which must win over $SENDER.
type optString struct {
	v   string
	set bool
}

func (o *optString) String() string { return o.v }
func (o *optString) Set(v string) error {
	o.v, o.set = v, true
	return nil
}

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// flags registers every flag on a new FlagSet for command name.
func (c *Config) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.ConfigFile, "config", "", "configuration file of name = value lines (default "+defaultConfigPath+" when it exists; empty: none)")
	fs.StringVar(&c.DataDir, "data-dir", "./guichet-data", "folder of the SQLite database, attachments and sent mail")
	fs.StringVar(&c.DB, "db", "", "database: a SQLite file path (default <data-dir>/guichet.db) or postgres://…")
	fs.StringVar(&c.Redis, "redis", "", "redis://… for multi-instance coordination")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", "127.0.0.1:2525", "inbound SMTP listener")
	fs.BoolVar(&c.LMTP, "lmtp", false, "speak LMTP instead of SMTP on --smtp-addr")
	if name == "serve" {
		fs.DurationVar(&c.SMTPSessionMax, "smtp-session-max", mailin.DefaultMaxSessionTime, "longest SMTP/LMTP session, then 421 4.4.2 (0: no limit)")
		fs.IntVar(&c.SMTPJunkCommandLimit, "smtp-junk-command-limit", mailin.DefaultMaxJunkCommands, "SMTP/LMTP commands outside a transaction (NOOP, RSET, …) between two messages, then 421 4.7.0 (0: no limit)")
		fs.IntVar(&c.SMTPErrorLimit, "smtp-error-limit", mailin.DefaultMaxErrors, "refused SMTP/LMTP commands between two messages, then 421 4.7.0 (0: no limit)")
		fs.IntVar(&c.SMTPMaxConnections, "smtp-max-connections", mailin.DefaultMaxConnections, "SMTP/LMTP connections at a time; more get 421 4.7.0 (0: no limit)")
		fs.IntVar(&c.SMTPMaxConnsPerIP, "smtp-max-connections-per-ip", mailin.DefaultMaxConnectionsPerIP, "SMTP/LMTP connections at a time from one client address; more get 421 4.7.0 (0: no limit)")
	}
	fs.StringVar(&c.HTTPAddr, "http-addr", "127.0.0.1:8080", "portal, API, /healthz, and /metrics when loopback (see --metrics-addr)")
	fs.StringVar(&c.PublicURL, "public-url", "", "base of links in mails (default http://<http-addr>)")
	fs.StringVar(&c.SupportAddress, "support-address", "support@localhost", "where customers write")
	fs.StringVar(&c.Desk, "desk", "AURAN1=Assistance ENT", "key and name of the default desk")
	fs.StringVar(&c.Relay, "relay", "", "outbound relay smtp://[user:pass@]host:port or smtps://…; none writes .eml files to <data-dir>/sent")
	fs.StringVar(&c.RelayTLS, "relay-tls", "auto", "TLS to the relay: verify (STARTTLS or smtps required, certificate checked), opportunistic (STARTTLS when offered, certificate not checked), none (never), or auto (opportunistic for a loopback relay, verify otherwise)")
	fs.BoolVar(&c.RelayInsecure, "relay-insecure-skip-verify", false, "deprecated: --relay-tls opportunistic")
	fs.Var(&c.IMAP, "imap", "IMAP mailbox imaps://user:pass@host:port/INBOX, or imap://… with STARTTLS (required unless the host is loopback; ?starttls=require|auto|off, ?tls_skip_verify=true) (repeatable)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "certificate file for SMTP STARTTLS")
	fs.StringVar(&c.TLSKey, "tls-key", "", "key file for SMTP STARTTLS")
	fs.StringVar(&c.TemplatesDir, "templates-dir", "", "folder of templates that replace the embedded ones")
	fs.Int64Var(&c.MaxMessageSize, "max-message-size", 25<<20, "largest inbound message in bytes")
	fs.DurationVar(&c.ReopenWindow, "reopen-window", 14*24*time.Hour, "a reply reopens a closed ticket within this")
	fs.StringVar(&c.BusinessHours, "business-hours", bizhours.Default, "the desk's business hours, in which SLAs are counted: a time zone, days and spans, holidays=fr|fr-alsace|none, closed=dates (see the README)")
	fs.DurationVar(&c.SLAFirstResponse, "sla-first-response", 8*time.Hour, "business time allowed before an agent's first public answer (0: no target)")
	fs.DurationVar(&c.SLAResolution, "sla-resolution", 40*time.Hour, "business time allowed before a ticket is closed, not counting time spent waiting (0: no target)")
	fs.DurationVar(&c.SLAWarnBefore, "sla-warn-before", time.Hour, "agents get one warning mail when this much business time is left on a target (0: none)")
	fs.StringVar(&c.Academies, "academies", "Clermont-Ferrand,Grenoble,Lyon", "choices of the request form's Académie field, comma-separated")
	fs.StringVar(&c.Components, "components", "ENT,Messagerie,Pronote,Espace de stockage,Annuaire", "choices of the request form's Composants field for the default desk, comma-separated")
	fs.StringVar(&c.RequestTypes, "request-types", "Incident,Demande d'assistance,Demande d'information", "request types of the form, comma-separated; the first is the default, also of tickets made by mail")
	fs.StringVar(&c.PortalName, "portal-name", "", "the service's name in the portal's header, \"French|English\" or one text (default the user guide's \"ma classe en Auvergne-Rhône-Alpes — Assistance ENT\")")
	fs.StringVar(&c.PortalWelcome, "portal-welcome", "", "the portal home page's welcome line, \"French|English\" or one text (default \"Bienvenue sur le portail d'assistance <name> !\")")
	fs.StringVar(&c.PortalLogo, "portal-logo", "", "image file (PNG, JPEG, GIF, WebP or SVG, 1 MiB at most) shown before the portal's name")
	fs.StringVar(&c.SupportPhone, "support-phone", "", "the phone support number shown on the portal's home page and footer (default none: no phone line)")
	fs.StringVar(&c.SupportHours, "support-hours", "", "when the phone support answers, \"French|English\" or one text (default \"du lundi au vendredi de 08h à 18h\")")
	fs.StringVar(&c.SenderPolicy, "sender-policy", "default", "default (mail without proof is accepted, marked unverified) or strict (held)")
	fs.StringVar(&c.CommentAddress, "comment-address", "", "an agent's mail to this address becomes an internal note (default support+note@<support domain>)")
	fs.StringVar(&c.AuthServID, "authserv-id", "", "authserv-id of the upstream MTA's Authentication-Results to trust (default the support domain)")
	fs.BoolVar(&c.CheckDKIM, "check-dkim", true, "verify DKIM signatures when no trusted Authentication-Results is present")
	fs.StringVar(&c.TrustedRelays, "trusted-relays", "", "SMTP/LMTP clients whose Authentication-Results count (the MTA in front), comma-separated CIDRs or IPs, e.g. 127.0.0.1/32 (default none)")
	logLevel := "info"
	if name == "ingest" {
		// An MTA's pipe copies stderr into the delivery status: only problems belong there.
		logLevel = "warn"
	}
	fs.StringVar(&c.LogLevel, "log-level", logLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 30*time.Second, "how long to drain on SIGTERM")
	fs.Int64Var(&c.MailAttachMax, "mail-attach-max", mailout.DefaultMaxAttachBytes, "bytes of files attached to one outbound mail (agents' notifications carry the request's files); files beyond are named, with the ticket's page to get them; 0: none attached")
	fs.DurationVar(&c.OutboxLease, "outbox-lease", 5*time.Minute, "how long a claimed outbox mail stays claimed; if its instance dies, another sends it after this (keep it above the 2 min send timeout)")
	if name == "serve" {
		fs.DurationVar(&c.StaleAfter, "stale-after", time.Minute, "a message answered 250 and still unprocessed after this is processed by any instance (the one that took it died); checked every quarter of it")
		fs.StringVar(&c.Spool, "spool", "auto", "keep each received message in a spool file under <data-dir>/spool before the 250, the database's work after it: on, off, or auto (on with SQLite; off with PostgreSQL, where a message stored in the database is taken over by another instance if this one dies)")
		fs.StringVar(&c.InstanceID, "instance-id", "", "this instance's name among those sharing the database, unique among those running; at start it gives back at once the outbox mail its previous run had claimed (default <hostname>-<hash of the data folder's path>)")
		fs.StringVar(&c.DebugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it on loopback (default off)")
		fs.Int64Var(&c.MinFreeSpace, "min-free-space", 128<<20, "/healthz answers 503 \"disk\" (or \"spool\") when a folder Guichet writes has fewer bytes free than this; 0: not checked")
		fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve /metrics on a listener of its own at this address; empty: on --http-addr only when it is loopback; the --http-addr value: there in any case; off: nowhere")
	}
	switch name {
	case "ticket list", "ticket show", "inspect", "inbound list", "user add", "establishment add", "token create", "retention run", "user erase", "audit list":
		fs.BoolVar(&c.JSON, "json", false, "print JSON")
	}
	c.privacyFlags(fs, name)
	switch name {
	case "user add", "establishment add":
		fs.StringVar(&c.Name, "name", "", "display name")
		fs.StringVar(&c.UAI, "uai", "", "establishment UAI (RNE)")
	}
	switch name {
	case "user add":
		fs.StringVar(&c.Role, "role", "customer", "customer, agent or admin")
		fs.StringVar(&c.Lang, "lang", "fr", "fr or en")
		fs.BoolVar(&c.PasswordStdin, "password-stdin", false, "read a password from the first line of stdin")
	case "establishment add":
		fs.StringVar(&c.Academie, "academie", "", "académie")
	case "inbound list":
		fs.BoolVar(&c.Failed, "failed", false, "only messages that failed to process")
		fs.IntVar(&c.Limit, "limit", 100, "at most this many per page")
		fs.IntVar(&c.Page, "page", 1, "which page of --limit messages, newest first")
	case "ticket list":
		fs.IntVar(&c.Limit, "limit", 1000, "at most this many per page")
		fs.IntVar(&c.Page, "page", 1, "which page of --limit tickets, newest activity first")
	case "token create":
		fs.StringVar(&c.Name, "name", "", "a name for the token, to tell it apart")
	case "ingest":
		fs.BoolVar(&c.NoSend, "no-send", false, "leave the mail it causes to the running server")
		fs.Var(&c.Sender, "sender", "envelope sender (Postfix pipe: --sender=${sender}; empty: the null sender of a bounce); default $SENDER")
		fs.Var(&c.Recipients, "recipient", "envelope recipient (repeatable; Postfix pipe: --recipient=${original_recipient}); default $RECIPIENT")
	}
	return fs
}

// parseArgs parses flags that may stand before, between or after positional arguments,
// then fills the flags not given from GUICHET_<FLAG> variables.
func parseArgs(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "GUICHET_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(env)
		if v == "" {
			return
		}
		if f.Name == "imap" {
			for _, u := range strings.Fields(strings.ReplaceAll(v, ",", " ")) {
				if e := f.Value.Set(u); e != nil {
					err = fmt.Errorf("%s: %w", env, e)
				}
			}
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", env, v, e)
		}
	})
	return pos, err
}

// Validate checks the settings and fills the derived defaults.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "guichet.db")
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--public-url %q: an http:// or https:// URL expected", c.PublicURL)
	}
	if !strings.Contains(c.SupportAddress, "@") {
		return fmt.Errorf("--support-address %q: an address expected", c.SupportAddress)
	}
	if _, err := c.sla(); err != nil {
		return err
	}
	if _, _, err := c.desk(); err != nil {
		return err
	}
	for _, a := range []struct{ flag, v string }{{"--smtp-addr", c.SMTPAddr}, {"--http-addr", c.HTTPAddr}} {
		if _, _, err := net.SplitHostPort(a.v); err != nil {
			return fmt.Errorf("%s %q: host:port expected", a.flag, a.v)
		}
	}
	if c.Relay != "" {
		u, err := url.Parse(c.Relay)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			return fmt.Errorf("--relay: smtp://[user:pass@]host:port or smtps://… expected")
		}
	}
	if _, err := c.relayTLS(); err != nil {
		return err
	}
	if strings.ContainsFunc(c.InstanceID, func(r rune) bool { return r < ' ' || r == 0x7f }) || len(c.InstanceID) > 200 {
		return fmt.Errorf("--instance-id %q: at most 200 characters, none a control character", c.InstanceID)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.SenderPolicy != "default" && c.SenderPolicy != "strict" {
		return fmt.Errorf("--sender-policy %q: default or strict", c.SenderPolicy)
	}
	if c.AuthServID == "" {
		_, c.AuthServID, _ = strings.Cut(c.SupportAddress, "@")
	}
	if _, err := c.trustedRelays(); err != nil {
		return err
	}
	switch c.Spool {
	case "", "auto", "on", "off":
	default:
		return fmt.Errorf("--spool %q: on, off or auto", c.Spool)
	}
	if c.StaleAfter != 0 && c.StaleAfter < 10*time.Second {
		return fmt.Errorf("--stale-after %s: at least 10s (a live instance must have time to process its own)", c.StaleAfter)
	}
	if c.SMTPSessionMax < 0 || c.SMTPJunkCommandLimit < 0 || c.SMTPErrorLimit < 0 || c.SMTPMaxConnections < 0 || c.SMTPMaxConnsPerIP < 0 {
		return errors.New("--smtp-session-max, --smtp-*-limit and --smtp-max-connections*: 0 (no limit) or more")
	}
	if c.MaxMessageSize < 1024 {
		return fmt.Errorf("--max-message-size %d: too small", c.MaxMessageSize)
	}
	if c.MinFreeSpace < 0 {
		return fmt.Errorf("--min-free-space %d: 0 or more bytes", c.MinFreeSpace)
	}
	if c.MetricsAddr != "" && c.MetricsAddr != "off" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q: host:port or off expected", c.MetricsAddr)
		}
	}
	return nil
}

// relayTLS returns the --relay-tls policy, --relay-insecure-skip-verify being the
// deprecated name of opportunistic.
func (c *Config) relayTLS() (mailout.TLSPolicy, error) {
	p, err := mailout.ParseTLSPolicy(c.RelayTLS)
	if err != nil {
		return p, fmt.Errorf("--relay-tls %q: auto, verify, opportunistic or none", c.RelayTLS)
	}
	if c.RelayInsecure {
		if p != mailout.TLSAuto && p != mailout.TLSOpportunistic {
			return p, fmt.Errorf("--relay-insecure-skip-verify (deprecated: --relay-tls opportunistic) contradicts --relay-tls %s", p)
		}
		p = mailout.TLSOpportunistic
	}
	if p == mailout.TLSNone && strings.HasPrefix(c.Relay, "smtps://") {
		return p, errors.New("--relay smtps://… always uses TLS: it cannot go with --relay-tls none (use smtp://)")
	}
	return p, nil
}

// defaultInstanceID names this instance when --instance-id is not given: the host's name
// and a hash of the data folder's absolute path, stable across restarts and different
// for two serves on one host.
func defaultInstanceID(dataDir string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "guichet"
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		dir = dataDir
	}
	sum := sha256.Sum256([]byte(dir))
	return fmt.Sprintf("%s-%x", host, sum[:4])
}

// desk splits --desk KEY=Name.
func (c *Config) desk() (key, name string, err error) {
	key, name, ok := strings.Cut(c.Desk, "=")
	key, name = strings.ToUpper(strings.TrimSpace(key)), strings.TrimSpace(name)
	if !ok || key == "" || name == "" {
		return "", "", fmt.Errorf("--desk %q: KEY=Name expected, e.g. AURAN1=Assistance ENT", c.Desk)
	}
	return key, name, nil
}

// trustedRelays parses --trusted-relays: CIDRs, a bare IP meaning that one address.
func (c *Config) trustedRelays() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range list(c.TrustedRelays) {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("--trusted-relays %q: a CIDR (127.0.0.1/32, 10.0.0.0/8, ::1/128) or an IP address expected", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// redacted returns a copy safe to log: passwords in URLs are hidden.
func (c Config) redacted() Config {
	hide := func(s string) string {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			return s
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	c.DB, c.Redis, c.Relay = hide(c.DB), hide(c.Redis), hide(c.Relay)
	imap := make(multiFlag, len(c.IMAP))
	for i, v := range c.IMAP {
		imap[i] = hide(v)
	}
	c.IMAP = imap
	return c
}

// list splits a comma-separated flag value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sla builds the desk's SLA policy from --business-hours and the --sla-* targets; nil when
// both targets are 0.
func (c *Config) sla() (*ticket.SLAPolicy, error) {
	if c.SLAFirstResponse < 0 || c.SLAResolution < 0 || c.SLAWarnBefore < 0 {
		return nil, errors.New("--sla-first-response, --sla-resolution and --sla-warn-before must not be negative")
	}
	if c.SLAFirstResponse == 0 && c.SLAResolution == 0 {
		return nil, nil
	}
	cal, err := bizhours.Parse(c.BusinessHours)
	if err != nil {
		return nil, fmt.Errorf("--business-hours: %w", err)
	}
	return &ticket.SLAPolicy{Calendar: cal, FirstResponse: c.SLAFirstResponse, Resolution: c.SLAResolution, WarnBefore: c.SLAWarnBefore}, nil
}
