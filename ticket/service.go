package ticket

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// Sentinel errors of the domain; check them with errors.Is.
var (
	ErrNotFound = errors.New("ticket: not found")
	ErrInvalid  = errors.New("ticket: invalid input")
	ErrClosed   = errors.New("ticket: service closed")
)

// BlobOpener opens content of the blob store by its SHA-256; *blob.Store is one.
type BlobOpener interface {
	OpenBlob(ctx context.Context, sum string) (io.ReadCloser, error)
}

// Options configures a Service.
type Options struct {
	DeskKey        string        // key of the default desk, e.g. "AURAN1"
	DeskName       string        // its name, e.g. "Assistance ENT"
	PublicURL      string        // base of links in mails, without trailing slash
	SupportAddress string        // where customers write, e.g. support@localhost
	Secret         []byte        // HMAC key of signed reply addresses
	ReopenWindow   time.Duration // a customer reply on a closed ticket reopens it within this; default 14 days
	// ConfirmationsPerHour caps confirmations to one sender per hour (default 10), so that
	// a misbehaving mailer cannot make us flood a mailbox.
	ConfirmationsPerHour int
	BounceHold           time.Duration // how long a bouncing address gets no mail; default 60 days
	// TicketCap caps the mails to one recipient about one ticket within TicketCapWindow
	// (default 10 in 10 minutes): past it, mail is stored but not sent.
	TicketCap       int
	TicketCapWindow time.Duration
	MaxBatch        int // messages committed together at most; default 64
	// Backlog and BacklogBytes bound the messages stored by Receive and not yet
	// processed (default 2048 messages, 32 MiB of parse results): past them, Receive
	// waits before storing.
	Backlog      int
	BacklogBytes int64
	// ListCountCap is where the requests list stops counting matches ("1-25 de plus de
	// 10000"); default 10000.
	ListCountCap int
	// SenderPolicy: PolicyDefault or PolicyStrict (hold every mail without proof).
	SenderPolicy SenderPolicy
	// CommentAddress turns an agent's mail sent to it into an internal note; default
	// support+note@ the support domain.
	CommentAddress string
	// DefaultRequestType is the type of a ticket made without one (by mail, or through
	// the API without request_type): the first of the form's types, so that filtering on
	// it finds them. NewService gives it to the tickets stored without a type. "" leaves
	// them without.
	DefaultRequestType string
	Logger             *slog.Logger
	// SLA is the desk's service levels in business hours; nil: none.
	SLA *SLAPolicy
	Now func() time.Time
	// RawBlobs holds the big inbound messages stored by their hash (Delivery.RawBlob);
	// nil when none are.
	RawBlobs BlobOpener
	// Instance names this process among those sharing the database (serve's
	// --instance-id): outbox rows it claims carry it, so that, restarted after a crash,
	// it can give them back at once (ReleaseInstanceClaims). It must be unique among the
	// instances running at a time; "" for a process that claims without an identity.
	Instance string
	// OnOutbox is called after a commit that added outbox rows (wake the sender), and
	// only then: never after the sender's own claims and marks.
	OnOutbox func()
	// Unquote, when set, looks in the text of a reply for a quote of the mails we sent
	// that it answers (those its In-Reply-To and References name, sent, on its
	// ticket) and returns the reply's new part and true; false keeps the parser's
	// Visible. Rendering a mail and comparing texts belong to other packages: cmd joins
	// them here.
	Unquote func(text string, sent []OutboxMail) (string, bool)
}

// Service is the one place where tickets change. It is safe for concurrent use.
type Service struct {
	db            *sqlx.DB
	dialect       Dialect
	q             *queries
	cq            *changeQueries
	iq            *imapQueries
	wq            *webQueries
	sq            *slaQueries
	rq            *replyQueries
	mq            *mergeQueries
	dq            *dashboardQueries
	fq            *satisfactionQueries
	pq            *privacyQueries
	slaCount      slaCounters
	slaBackfilled atomic.Bool
	opt           Options
	log           *slog.Logger
	desk          Desk
	domain        string
	local         string
	// commentAddress is Options.CommentAddress, normalised.
	commentAddress string
	// textWindow is how many rows of the list a text search looks at first (searchText);
	// tests make it small.
	textWindow int

	staffMu    sync.Mutex
	staffCache []User
	staffAt    time.Time

	reqs      chan *intakeReq
	queue     []queued      // stored, to process; the committer's own
	incoming  chan queued   // spooled deliveries handed to the committer (ReceiveSpooled)
	preparing chan queued   // spooled deliveries handed over, for the preparer (queue.go)
	prepDone  chan struct{} // closed when the preparer has handed everything on
	// prepareWait is the first wait before a delivery that could not be prepared is
	// tried again (a second; tests shorten it).
	prepareWait time.Duration
	urgent      atomic.Int64 // writes sent to reqs that someone waits for, not yet taken
	parkMu      sync.Mutex
	parked      []queued // spooled deliveries the database refused; RetryParked tries again
	backlog     *backlog
	outcomes    sync.Map // outcome → *atomic.Int64
	stop        chan struct{}
	wg          sync.WaitGroup
	closeOnce   sync.Once
	closeMu     sync.RWMutex
	closed      bool
	walCopied   atomic.Bool // the checkpointer copied the whole WAL (SQLite)

	// txMail counts the outbox rows written by the committer's transaction in progress
	// (the committer's own): only a commit that queued mail wakes the sender, so that
	// the sender's own claims and marks, which queue none, do not wake it again.
	txMail int
}

// Desk is a service desk: a key prefix for its tickets and a name.
type Desk struct {
	ID   int64  `db:"id"`
	Key  string `db:"key"`
	Name string `db:"name"`
}

// NewService loads the queries, makes sure the default desk exists and starts the intake
// committer. The schema must be up to date (see Migrate). Call Close when done.
func NewService(ctx context.Context, db *sqlx.DB, opt Options) (*Service, error) {
	if opt.DeskKey == "" {
		opt.DeskKey, opt.DeskName = "AURAN1", "Assistance ENT"
	}
	opt.DeskKey = strings.ToUpper(opt.DeskKey)
	if !deskKeyRe.MatchString(opt.DeskKey) {
		return nil, fmt.Errorf("%w: desk key %q must be letters then letters or digits", ErrInvalid, opt.DeskKey)
	}
	if opt.SupportAddress == "" {
		opt.SupportAddress = "support@localhost"
	}
	local, domain, ok := strings.Cut(strings.ToLower(opt.SupportAddress), "@")
	if !ok || local == "" || domain == "" {
		return nil, fmt.Errorf("%w: support address %q", ErrInvalid, opt.SupportAddress)
	}
	if len(opt.Secret) > 0 && len(opt.Secret) < 16 {
		return nil, fmt.Errorf("%w: the signing secret needs at least 16 bytes", ErrInvalid)
	}
	if opt.ReopenWindow == 0 {
		opt.ReopenWindow = 14 * 24 * time.Hour
	}
	if opt.ConfirmationsPerHour == 0 {
		opt.ConfirmationsPerHour = 10
	}
	if opt.BounceHold == 0 {
		opt.BounceHold = 60 * 24 * time.Hour
	}
	if opt.TicketCap == 0 {
		opt.TicketCap = 10
	}
	if opt.TicketCapWindow == 0 {
		opt.TicketCapWindow = 10 * time.Minute
	}
	if opt.SenderPolicy == "" {
		opt.SenderPolicy = PolicyDefault
	}
	if opt.SenderPolicy != PolicyDefault && opt.SenderPolicy != PolicyStrict {
		return nil, fmt.Errorf("%w: sender policy %q (default or strict)", ErrInvalid, opt.SenderPolicy)
	}
	if opt.CommentAddress == "" {
		opt.CommentAddress = local + "+note@" + domain
	}
	if NormalizeEmail(opt.CommentAddress) == "" {
		return nil, fmt.Errorf("%w: comment address %q", ErrInvalid, opt.CommentAddress)
	}
	if opt.ListCountCap <= 0 {
		opt.ListCountCap = 10000
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 64
	}
	if opt.Backlog <= 0 {
		opt.Backlog = DefaultBacklog
	}
	if opt.BacklogBytes <= 0 {
		opt.BacklogBytes = DefaultBacklogBytes
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	if err := CheckSchema(ctx, db); err != nil {
		return nil, err
	}
	s := &Service{
		db: db, dialect: DialectOf(db), opt: opt, log: opt.Logger,
		domain: domain, local: local, commentAddress: NormalizeEmail(opt.CommentAddress),
		textWindow: defaultTextWindow,
		reqs:       make(chan *intakeReq, 256), stop: make(chan struct{}),
		backlog: newBacklog(opt.Backlog, opt.BacklogBytes), incoming: make(chan queued, opt.Backlog),
		preparing: make(chan queued, opt.Backlog), prepDone: make(chan struct{}), prepareWait: time.Second,
	}
	if err := s.bindAll(); err != nil {
		return nil, err
	}
	q := s.q
	if len(s.opt.Secret) == 0 {
		var err error
		if s.opt.Secret, err = s.sharedSecret(ctx); err != nil {
			return nil, err
		}
	}
	if _, err := db.ExecContext(ctx, q.InsertDesk, opt.DeskKey, opt.DeskName); err != nil {
		return nil, fmt.Errorf("ticket: create desk %s: %w", opt.DeskKey, err)
	}
	if err := db.GetContext(ctx, &s.desk, q.DeskByKey, opt.DeskKey); err != nil {
		return nil, fmt.Errorf("ticket: read desk %s: %w", opt.DeskKey, err)
	}
	if opt.DefaultRequestType != "" {
		// Tickets made by mail before there was a default; the type index finds them, so
		// this costs nothing once done. updated_at is kept: the list's order is unchanged.
		// A read first: every `guichet ingest` starts a service, and an UPDATE would take
		// SQLite's write lock even with nothing to change.
		var untyped int
		if err := db.GetContext(ctx, &untyped, `SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE request_type = '' LIMIT 1) x`); err != nil {
			return nil, fmt.Errorf("ticket: look for untyped tickets: %w", err)
		}
		if untyped > 0 {
			res, err := db.ExecContext(ctx, db.Rebind(`UPDATE tickets SET request_type = ? WHERE request_type = ''`), opt.DefaultRequestType)
			if err != nil {
				return nil, fmt.Errorf("ticket: give untyped tickets the default type: %w", err)
			}
			n, _ := res.RowsAffected()
			s.log.Info("untyped tickets given the default request type", "type", opt.DefaultRequestType, "tickets", n)
		}
	}
	s.wg.Add(2)
	go s.preparer()
	// labelled, so that a profile shows the single writer apart (-tagfocus writer=committer)
	go pprof.Do(context.Background(), pprof.Labels("writer", "committer"), func(context.Context) { s.committer() })
	if s.dialect == SQLite {
		s.wg.Add(1)
		go s.checkpointer()
	}
	return s, nil
}

// sharedSecret returns the signing key kept in the database, creating it on first use, so
// that every instance signs and checks reply addresses alike.
func (s *Service) sharedSecret(ctx context.Context) ([]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("ticket: make signing key: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.q.InsertSetting, "reply_secret", hex.EncodeToString(b[:])); err != nil {
		return nil, fmt.Errorf("ticket: store signing key: %w", err)
	}
	var v string
	if err := s.db.GetContext(ctx, &v, s.q.Setting, "reply_secret"); err != nil {
		return nil, fmt.Errorf("ticket: read signing key: %w", err)
	}
	return hex.DecodeString(v)
}

// Close stops the intake committer after the batches in flight and the messages Receive
// queued; later writes fail with ErrClosed. It does not close the database.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		close(s.stop)
		s.closeMu.Unlock()
	})
	s.wg.Wait()
	return nil
}

// Ping checks that the database answers.
func (s *Service) Ping(ctx context.Context) error {
	var one int
	if err := s.db.GetContext(ctx, &one, s.q.Ping); err != nil {
		return fmt.Errorf("ticket: ping database: %w", err)
	}
	return nil
}

// SupportAddress returns the configured support address.
func (s *Service) SupportAddress() string { return s.opt.SupportAddress }

// DefaultDesk returns the default desk.
func (s *Service) DefaultDesk() Desk { return s.desk }

func (s *Service) now() time.Time { return s.opt.Now().UTC() }

func (s *Service) link(key string) string { return s.opt.PublicURL + "/requests/" + key }

// checkpointEvery is how often the checkpointer copies the WAL into the database. Each
// pass ends with an fsync of the database file, which holds the disk meanwhile, and a
// spool's fsync (a sender's 250) waits behind it: short passes keep that wait short. With
// 200 KB messages at 50 msg/s (about 10 MB of WAL a second), four interleaved pairs of
// runs: p99 of the 250 8.8-17.8 ms with a pass a second, 7.6-9.8 ms with four. A pass
// with nothing to copy writes nothing.
const checkpointEvery = 250 * time.Millisecond

// truncateEvery is how many passes go between two TRUNCATE passes (about a minute).
const truncateEvery = int(time.Minute / checkpointEvery)

// checkpointer copies the SQLite WAL back into the database every checkpointEvery, off
// the committer's path (automatic checkpoints are off, see Open). PASSIVE never blocks
// writers. A WAL is only started over by a write that begins once every frame is copied,
// which under a steady flow of writes never happens by itself: the WAL would grow by
// the whole write volume (about 100 KB per message) until the TRUNCATE of every minute.
// So after a complete pass the committer copies the few frames written meanwhile,
// between two transactions (resetWAL), and its next write starts the WAL over.
func (s *Service) checkpointer() {
	defer s.wg.Done()
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-s.stop:
			s.db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			return
		case <-tick.C:
		}
		mode := "PASSIVE"
		if n%truncateEvery == 0 {
			mode = "TRUNCATE"
		}
		s.checkpoint(mode)
	}
}

// checkpoint copies the WAL into the database, in up to three passes (the first in
// mode, the others PASSIVE), each copying what was written during the one before; once
// what is left is at most walRestartSlack frames, it tells the committer, whose
// resetWAL copies the rest between two transactions. Under a steady flow of writes a
// pass seldom ends with every frame copied (commits come every few milliseconds): when
// all three had to, the WAL started over rarely under load, and grew meanwhile.
func (s *Service) checkpoint(mode string) {
	for pass := 0; pass < 3; pass++ {
		if pass > 0 {
			mode = "PASSIVE" // a TRUNCATE blocks writers: once is enough
		}
		var busy, frames, copied int
		if err := s.db.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
			s.log.Warn("WAL checkpoint failed", slog.Any("error", err))
			return
		}
		if busy != 0 || frames <= 0 || copied < 0 {
			return
		}
		if frames-copied <= walRestartSlack {
			s.walCopied.Store(true)
			return
		}
	}
}

// walRestartSlack is how many WAL frames (pages) resetWAL may have to copy in the
// committer's path: 128 pages of 4 KiB, a millisecond or two.
const walRestartSlack = 128

// resetWAL runs in the committer between two transactions, after the checkpointer
// copied the WAL: nothing else writes, so this pass copies the rest, and the next write
// transaction starts the WAL over (unless a reader still uses it; then next time).
func (s *Service) resetWAL() {
	if !s.walCopied.Swap(false) {
		return
	}
	if _, err := s.db.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		s.log.Warn("WAL checkpoint failed", slog.Any("error", err))
	}
}
