package multitest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guichet/guichet/internal/smtpsink"
	"github.com/redis/go-redis/v9"
)

// The run's shape.
const (
	smtpMails   = 900 // half to each instance's SMTP port
	imapMails   = 100 // half before the kill, half after
	clients     = 4   // concurrent SMTP sessions per instance
	outboxLease = 10 * time.Second
	settleLimit = 110 * time.Second // after the kill: the IMAP lease (1 min) must expire first
)

// TestTwoInstances runs two `guichet serve` processes, A and B, on one PostgreSQL
// database and one Redis, both reading one IMAP folder and relaying to one sink. It
// sends 900 mails over both SMTP ports (an MTA with two MX: what fails on one is sent
// again to the other) and appends 100 to the folder; A, which holds the folder's lease,
// is killed with SIGKILL once 450 mails were answered 250. A is not restarted: B alone
// must finish, taking the IMAP lease once A's expires and sending the outbox rows that
// A had claimed once their lease (--outbox-lease 10s here) ends.
//
// The result must be exactly 1,000 tickets with keys AURAN1-1…AURAN1-1000, one inbound
// row per mail, one confirmation per requester sent, and each IMAP message moved once.
// At the relay, a requester may receive the same confirmation twice: when A had handed
// it to the relay but died before recording it as sent, B sends it again after the
// lease (at-least-once delivery). Both copies carry the same Message-ID; a real MTA
// delivers both, and a mail client may or may not fold them. The test counts that case
// and requires one distinct Message-ID per requester. Run it with -v to see the counts.
func TestTwoInstances(t *testing.T) {
	pgBase, redisBase, imapBase := needServices(t)
	began := time.Now()
	tag := randHex(4)
	bin := buildGuichet(t)
	pgURL, db := newDatabase(t, pgBase, "guichet_multi_"+tag)
	rdb := newRedis(t, redisBase, tag)
	mb := newMailbox(t, imapBase, tag)
	sink, err := smtpsink.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	args := []string{"--db", pgURL, "--redis", redisBase, "--imap", mb.url, "--relay", "smtp://" + sink.Addr(),
		"--outbox-lease", outboxLease.String(), "--public-url", "https://guichet.test", "--log-level", "info"}

	// A first, until it holds the mailbox's lease; then B, which waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := startInstance(t, bin, "A", args)
	if err := a.waitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := waitLease(ctx, rdb, mb.folder); err != nil {
		t.Fatalf("A did not take the IMAP lease: %v\n%s", err, a.logTail(30))
	}
	b := startInstance(t, bin, "B", args)
	if err := b.waitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("setup: %.1fs (build, database, mailbox, A then B healthy)", time.Since(began).Seconds())

	mails := make([]mail, smtpMails+imapMails)
	for i := range mails {
		mails[i] = makeMail(tag, i)
	}
	m := &mta{addrs: [2]string{a.smtpAddr, b.smtpAddr}, rcpt: "support@localhost"}
	var (
		acks     atomic.Int64
		killOnce sync.Once
		killed   = make(chan struct{})
		killedAt time.Time
	)
	onAck := func() {
		if acks.Add(1) == smtpMails/2 {
			killOnce.Do(func() {
				go func() {
					a.kill()
					killedAt = time.Now()
					close(killed)
				}()
			})
		}
	}
	start := time.Now()
	dctx, dcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer dcancel()
	var wg sync.WaitGroup
	for inst := range 2 {
		part := mails[inst*smtpMails/2 : (inst+1)*smtpMails/2]
		wg.Add(1)
		go func() { defer wg.Done(); m.run(dctx, inst, clients, part, onAck) }()
	}
	imapErr := make(chan error, 1)
	go func() { imapErr <- appendAll(dctx, mb, mails[smtpMails:], killed) }()
	wg.Wait()
	if err := <-imapErr; err != nil {
		t.Fatalf("imap append: %v", err)
	}
	select {
	case <-killed:
	case <-time.After(10 * time.Second):
		t.Fatal("A was never killed")
	}
	driven := time.Since(start)
	t.Logf("drive: %d SMTP mails in %.1fs (250 from A %d, from B %d; %d attempts made again; %d bounced); %d appended to IMAP",
		smtpMails, driven.Seconds(), m.acked[0].Load(), m.acked[1].Load(), m.resends.Load(), m.bounced.Load(), imapMails)
	t.Logf("A killed with SIGKILL %.1fs into the drive, after %d SMTP 250s; first failure seen at A: %q",
		killedAt.Sub(start).Seconds(), smtpMails/2, m.firstErr[0])
	if n := m.acked[0].Load() + m.acked[1].Load(); n != smtpMails {
		t.Fatalf("%d of %d SMTP mails answered 250 (%d bounced; first errors A %q, B %q)",
			n, smtpMails, m.bounced.Load(), m.firstErr[0], m.firstErr[1])
	}

	st, err := settle(db, mb, killedAt.Add(settleLimit))
	if err != nil {
		t.Fatalf("settle: %v (last counts %+v)\n%s", err, st, b.logTail(30))
	}
	t.Logf("settled %.1fs after the kill (IMAP folder emptied %.1fs after it); whole run %.1fs",
		time.Since(killedAt).Seconds(), st.imapEmptyAt.Sub(killedAt).Seconds(), time.Since(began).Seconds())
	check(t, db, sink, mb, mails)
	if n := b.logLines("level=ERROR"); n > 0 {
		t.Logf("B logged %d errors", n)
	}
}

// waitLease waits until someone holds the lease of the run's IMAP folder.
func waitLease(ctx context.Context, rdb *redis.Client, folder string) error {
	for {
		keys, err := rdb.Keys(ctx, "guichet:lease:imap:*/"+folder).Result()
		if err == nil && len(keys) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// appendAll appends the first half of msgs to the folder, spread over the first seconds
// of the drive, and the second half once killed is closed.
func appendAll(ctx context.Context, mb *mailbox, msgs []mail, killed <-chan struct{}) error {
	half := len(msgs) / 2
	for _, m := range msgs[:half] {
		if err := mb.append(m.data); err != nil {
			return err
		}
		time.Sleep(30 * time.Millisecond)
	}
	select {
	case <-killed:
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, m := range msgs[half:] {
		if err := mb.append(m.data); err != nil {
			return err
		}
	}
	return nil
}
