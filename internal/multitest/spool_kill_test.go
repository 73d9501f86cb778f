package multitest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	_ "modernc.org/sqlite" // driver "sqlite", to read serve's database

	"github.com/guichet/guichet/internal/sqlitero"
)

// The spool run's shape.
const (
	spoolMails   = 300 // distinct messages offered
	spoolClients = 4   // concurrent SMTP sessions
	spoolKillAt  = 150 // SIGKILL once this many 250 replies came back
	spoolWait    = 60 * time.Second
)

// TestSpoolSurvivesKill runs `guichet serve` on SQLite alone (no PostgreSQL, no Redis:
// it runs under a plain `go test ./...`), with the spool on (--spool auto, the default,
// is on with SQLite). It sends 300 distinct messages over 4 SMTP sessions and kills the
// process with SIGKILL once 150 of them were answered 250, while the others are still
// being sent. It records exactly which Message-IDs got a 250.
//
// serve is then started again on the same data folder: it replays the spool, taking
// the messages already stored as duplicates. Once it has processed everything it is
// stopped with SIGTERM and the database must hold, for every Message-ID answered 250,
// exactly one inbound row, exactly one ticket and exactly one confirmation in the
// outbox; no Message-ID may have two tickets. Messages that got no reply may or may not
// be there (the spool may have kept them before the kill), but never twice.
func TestSpoolSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs guichet serve twice (about 12 s)")
	}
	began := time.Now()
	bin := buildGuichet(t)
	root := t.TempDir()
	dataDir := filepath.Join(root, "data")
	tag := randHex(4)
	// --spool auto (the default): on with SQLite
	// The default --outbox-lease (5 min): outbox rows the killed process had claimed must
	// be released at the restart, not wait for their lease, for the run to see every
	// confirmation sent within spoolWait.
	args := []string{"--log-level", "info", "--shutdown-grace", "10s"}

	ctx, cancel := context.WithTimeout(context.Background(), spoolWait)
	defer cancel()
	a := startOnData(t, bin, "before-kill", dataDir, args)
	if err := a.waitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("setup: %.1fs (build, serve healthy on SQLite in %s)", time.Since(began).Seconds(), dataDir)

	// Drive: 4 sessions take the messages in turn; at the 150th 250, SIGKILL.
	mails := make([]mail, spoolMails)
	ids := make([]string, spoolMails) // Message-ID as stored: without angle brackets
	for i := range mails {
		mails[i] = makeMail(tag, i)
		ids[i] = fmt.Sprintf("%s.%d@ac-lyon.fr", tag, i)
	}
	var (
		next, acks       atomic.Int64
		mu               sync.Mutex
		acked            = map[string]bool{}
		errs             []string
		killOnce         sync.Once
		killed           = make(chan struct{})
		killedAt         time.Time
		dispatchedAtKill int64
	)
	note := func(format string, a ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for cl := range spoolClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dial(a.smtpAddr)
			if err != nil {
				note("client %d: dial: %v", cl, err)
				return
			}
			defer c.Close()
			for {
				i := int(next.Add(1) - 1)
				if i >= spoolMails {
					return
				}
				err := send(c, "support@localhost", mails[i])
				if err != nil {
					note("client %d, message %d: %v", cl, i, err)
					var se *smtp.SMTPError
					if errors.As(err, &se) {
						continue // a reply other than 250: the session goes on
					}
					return // the connection is gone (the kill) or in an unknown state
				}
				mu.Lock()
				acked[ids[i]] = true
				mu.Unlock()
				if acks.Add(1) == spoolKillAt {
					killOnce.Do(func() {
						go func() {
							a.cmd.Process.Signal(syscall.SIGKILL)
							dispatchedAtKill = next.Load()
							<-a.done
							killedAt = time.Now()
							close(killed)
						}()
					})
				}
			}
		}()
	}
	sent := make(chan struct{})
	go func() { wg.Wait(); close(sent) }()
	select {
	case <-sent:
	case <-ctx.Done():
		t.Fatalf("the SMTP clients did not stop within %s", spoolWait)
	}
	select {
	case <-killed:
	case <-time.After(5 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("serve was never killed: %d of %d messages answered 250; errors: %s\n%s",
			acks.Load(), spoolMails, strings.Join(first(errs, 5), "; "), a.logTail(30))
	}
	mu.Lock()
	nAcked := len(acked)
	nErrs := len(errs)
	someErrs := first(errs, 4)
	mu.Unlock()
	dispatched := min(int(next.Load()), spoolMails)
	t.Logf("drive: SIGKILL %.2fs into the drive, after the %dth 250; %d messages answered 250, %d handed to a session (%d when the kill was sent), %d errors, e.g. %q",
		killedAt.Sub(start).Seconds(), spoolKillAt, nAcked, dispatched, min(dispatchedAtKill, spoolMails), nErrs, someErrs)
	if ws, ok := a.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("serve did not die of SIGKILL: %v", a.cmd.ProcessState)
	}
	if nAcked < spoolKillAt {
		t.Fatalf("only %d messages answered 250, want at least %d", nAcked, spoolKillAt)
	}
	if nAcked >= spoolMails || dispatchedAtKill >= spoolMails {
		t.Fatalf("the kill came too late to prove anything: %d of %d answered 250, %d handed out when the kill was sent",
			nAcked, spoolMails, dispatchedAtKill)
	}
	t.Logf("spool after the kill: %s", spoolFiles(filepath.Join(dataDir, "spool")))
	// What the database held at the kill, read from a copy so that serve finds its files
	// as the kill left them.
	stored, err := storedAtKill(t, dataDir)
	if err != nil {
		t.Fatalf("read the database as the kill left it: %v", err)
	}
	var onlySpooled []string // answered 250, not in the database at the kill
	for id := range acked {
		if !stored[id] {
			onlySpooled = append(onlySpooled, id)
		}
	}
	sort.Strings(onlySpooled)
	t.Logf("at the kill the database held %d of the run's messages; %d answered 250 were only in the spool: %v",
		len(stored), len(onlySpooled), first(onlySpooled, 10))

	// Restart on the same folder: the spool is replayed before the listeners open.
	ctx, cancel = context.WithTimeout(context.Background(), spoolWait)
	defer cancel()
	b := startOnData(t, bin, "after-kill", dataDir, args)
	if err := b.waitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	replayed := -1
	if m := regexp.MustCompile(`spooled messages queued again[^=]*count=(\d+)`).FindStringSubmatch(b.logTail(1000)); m != nil {
		fmt.Sscan(m[1], &replayed)
	}
	if replayed >= 0 {
		t.Logf("restart: serve healthy %.1fs after the kill; spooled messages queued again: count=%d", restarted.Sub(killedAt).Seconds(), replayed)
	} else {
		t.Logf("restart: serve healthy %.1fs after the kill; no \"spooled messages queued again\" line in its log (the spool held nothing)", restarted.Sub(killedAt).Seconds())
	}
	dbPath := filepath.Join(dataDir, "guichet.db")
	metrics, processedAt, err := waitSpoolSettled(ctx, b, dbPath, acked)
	if err != nil {
		// go on: the checks below name what is missing
		t.Errorf("after the restart: %v", err)
	} else {
		t.Logf("processing done %.1fs after the restart, outbox sent %.1fs after it: %s",
			processedAt.Sub(restarted).Seconds(), time.Since(restarted).Seconds(), metrics)
	}

	// Stop with SIGTERM, then read what the database holds.
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop within 20 s of SIGTERM\n%s", b.logTail(30))
	}
	if b.err != nil {
		t.Errorf("serve exited with %v after SIGTERM\n%s", b.err, b.logTail(20))
	}
	db, err := sqlitero.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkSpoolRun(t, db, tag, acked)
	checkSentFolder(t, filepath.Join(dataDir, "sent"), mails, acked, ids)
	t.Logf("spool after the SIGTERM: %s", spoolFiles(filepath.Join(dataDir, "spool")))
	if len(onlySpooled) == 0 {
		t.Logf("note: every message answered 250 was already in the database at the kill; this run tested the duplicates of the replay, not a recovery")
	}
	for _, in := range []*instance{a, b} {
		if n := in.logLines("level=ERROR"); n > 0 {
			t.Logf("instance %s logged %d errors", in.name, n)
		}
	}
	t.Logf("whole run %.1fs", time.Since(began).Seconds())
}

// startOnData starts bin serve on dataDir (kept across restarts) without any GUICHET_*
// setting from the environment (a GUICHET_DB would leave SQLite); see startServe.
func startOnData(t *testing.T, bin, name, dataDir string, args []string) *instance {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GUICHET_") {
			env = append(env, kv)
		}
	}
	return startServe(t, bin, name, dataDir, env, append([]string{"--support-address", "support@localhost"}, args...))
}

// storedAtKill copies the SQLite files of dataDir (the database and its WAL, as the kill
// left them) and returns the Message-IDs of inbound in the copy.
func storedAtKill(t *testing.T, dataDir string) (map[string]bool, error) {
	dir := t.TempDir()
	for _, suf := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(dataDir, "guichet.db"+suf))
		if errors.Is(err, os.ErrNotExist) && suf != "" {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "guichet.db"+suf), b, 0o600); err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "guichet.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT message_id FROM inbound`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// spoolState is what waitSpoolSettled last saw.
type spoolState struct {
	backlog                             string // guichet_intake_backlog, "" before a scrape
	inbound, unprocessed, tickets, conf int
	unsent, ackedMissing                int
}

func (s spoolState) String() string {
	return fmt.Sprintf("intake backlog %q, %d inbound rows (%d not processed), %d tickets, %d confirmations, %d outbox rows not sent, %d Message-IDs answered 250 not in inbound",
		s.backlog, s.inbound, s.unprocessed, s.tickets, s.conf, s.unsent, s.ackedMissing)
}

// waitSpoolSettled waits until in reports an empty intake backlog and its database
// holds every acked Message-ID, processed, with a confirmation per ticket, and every
// outbox row sent; or until ctx ends. It returns the settled state with the processing
// counters of /metrics, and when the processing (not the sending) was first seen done.
func waitSpoolSettled(ctx context.Context, in *instance, dbPath string, acked map[string]bool) (string, time.Time, error) {
	var processedAt, missingSince time.Time
	db, err := sqlitero.Open(dbPath)
	if err != nil {
		return "", processedAt, err
	}
	defer db.Close()
	var st spoolState
	var lastErr error
	for {
		select {
		case <-in.done:
			return "", processedAt, fmt.Errorf("instance %s exited: %v (last seen: %v)", in.name, in.err, st)
		case <-ctx.Done():
			return "", processedAt, fmt.Errorf("not settled in time (last seen: %v; last error: %v)", st, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
		body, err := scrape(in)
		if err != nil {
			lastErr = err
			continue
		}
		st.backlog = metricValue(body, "guichet_intake_backlog")
		if st.backlog != "0" {
			continue
		}
		if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM inbound), (SELECT COUNT(*) FROM inbound WHERE state <> 'processed'),
			(SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM outbox WHERE kind = 'confirmation'),
			(SELECT COUNT(*) FROM outbox WHERE state <> 'sent')`).
			Scan(&st.inbound, &st.unprocessed, &st.tickets, &st.conf, &st.unsent); err != nil {
			lastErr = err
			continue
		}
		have := map[string]bool{}
		rows, err := db.QueryContext(ctx, `SELECT message_id FROM inbound`)
		if err != nil {
			lastErr = err
			continue
		}
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				have[id] = true
			}
		}
		rows.Close()
		st.ackedMissing = 0
		for id := range acked {
			if !have[id] {
				st.ackedMissing++
			}
		}
		// The replay is queued before /metrics answers: with the backlog empty and
		// nothing unprocessed, a Message-ID answered 250 still missing is lost. Give it
		// 10 s all the same.
		if st.ackedMissing > 0 && st.unprocessed == 0 {
			if missingSince.IsZero() {
				missingSince = time.Now()
			} else if time.Since(missingSince) > 10*time.Second {
				return "", processedAt, fmt.Errorf("intake done but messages answered 250 are missing: %v", st)
			}
		} else {
			missingSince = time.Time{}
		}
		done := st.ackedMissing == 0 && st.unprocessed == 0 && st.conf >= st.tickets && st.tickets > 0
		if done && processedAt.IsZero() {
			processedAt = time.Now()
		}
		if done && st.unsent == 0 {
			var lines []string
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "guichet_mail_processed_total") || strings.HasPrefix(l, "guichet_mail_taken_total") {
					lines = append(lines, l)
				}
			}
			return st.String() + "; " + strings.Join(lines, ", "), processedAt, nil
		}
	}
}

func scrape(in *instance) (string, error) {
	resp, err := http.Get("http://" + in.httpAddr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/metrics: %s", resp.Status)
	}
	return string(b), nil
}

// metricValue returns the value of the unlabelled metric name in a Prometheus text page.
func metricValue(body, name string) string {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// spoolFiles describes the segment files of the spool folder.
func spoolFiles(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".spool") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out = append(out, fmt.Sprintf("%s (%d bytes)", e.Name(), fi.Size()))
		}
	}
	if len(out) == 0 {
		return "no segment file in " + dir
	}
	return strings.Join(out, ", ")
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// checkSpoolRun asserts that every Message-ID answered 250 has one inbound row, one
// ticket and one confirmation, and that nothing of the run is there twice.
func checkSpoolRun(t *testing.T, db *sql.DB, tag string, acked map[string]bool) {
	t.Helper()
	type inboundRow struct {
		id       int64
		state    string
		ticketID sql.NullInt64
	}
	inbound := map[string][]inboundRow{} // Message-ID → rows
	rows, err := db.Query(`SELECT id, message_id, state, ticket_id FROM inbound`)
	if err != nil {
		t.Fatal(err)
	}
	nInbound := 0
	for rows.Next() {
		var r inboundRow
		var mid string
		if err := rows.Scan(&r.id, &mid, &r.state, &r.ticketID); err != nil {
			t.Fatal(err)
		}
		inbound[mid] = append(inbound[mid], r)
		nInbound++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	ticketsByInbound := map[int64][]int64{} // inbound id → ticket ids
	ticketKey := map[int64]string{}
	rows, err = db.Query(`SELECT id, key, inbound_id FROM tickets`)
	if err != nil {
		t.Fatal(err)
	}
	nTickets, noInbound := 0, 0
	for rows.Next() {
		var id int64
		var key string
		var in sql.NullInt64
		if err := rows.Scan(&id, &key, &in); err != nil {
			t.Fatal(err)
		}
		nTickets++
		ticketKey[id] = key
		if !in.Valid {
			noInbound++
			continue
		}
		ticketsByInbound[in.Int64] = append(ticketsByInbound[in.Int64], id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	confirmations := map[int64]int{} // ticket id → confirmation rows
	outboxStates := map[string]int{}
	reclaimed := 0
	rows, err = db.Query(`SELECT ticket_id, state, attempts FROM outbox WHERE kind = 'confirmation'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tid sql.NullInt64
		var state string
		var attempts int
		if err := rows.Scan(&tid, &state, &attempts); err != nil {
			t.Fatal(err)
		}
		if attempts > 1 {
			reclaimed++
		}
		confirmations[tid.Int64]++
		outboxStates[state]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	// Every Message-ID answered 250: one row, one ticket, one confirmation.
	ackedIDs := make([]string, 0, len(acked))
	for id := range acked {
		ackedIDs = append(ackedIDs, id)
	}
	sort.Strings(ackedIDs)
	lost := 0
	for _, mid := range ackedIDs {
		rs := inbound[mid]
		switch {
		case len(rs) == 0:
			lost++
			bad("%s answered 250 but has no inbound row (lost)", mid)
			continue
		case len(rs) > 1:
			bad("%s answered 250 has %d inbound rows", mid, len(rs))
		}
		r := rs[0]
		if r.state != "processed" {
			bad("%s: inbound row %d is %q, not processed", mid, r.id, r.state)
		}
		ts := ticketsByInbound[r.id]
		if len(ts) != 1 {
			bad("%s: inbound row %d has %d tickets %v", mid, r.id, len(ts), ts)
			continue
		}
		if !r.ticketID.Valid || r.ticketID.Int64 != ts[0] {
			bad("%s: inbound row %d points at ticket %v, the ticket made from it is %d", mid, r.id, r.ticketID, ts[0])
		}
		if c := confirmations[ts[0]]; c != 1 {
			bad("%s: ticket %s has %d confirmations in the outbox", mid, ticketKey[ts[0]], c)
		}
	}

	// Nothing twice, among the messages that got no reply too.
	extra := 0
	for mid, rs := range inbound {
		if !strings.HasPrefix(mid, tag+".") {
			bad("inbound row %d has a Message-ID not of this run: %q", rs[0].id, mid)
		}
		if !acked[mid] {
			extra++
		}
		if len(rs) > 1 && !acked[mid] { // acked ones are reported above
			bad("%s (no 250 seen) has %d inbound rows", mid, len(rs))
		}
		n := 0
		for _, r := range rs {
			n += len(ticketsByInbound[r.id])
		}
		if n > 1 && !acked[mid] {
			bad("%s (no 250 seen) has %d tickets", mid, n)
		}
	}
	for tid, c := range confirmations {
		if c > 1 {
			bad("ticket %d (%s) has %d confirmations", tid, ticketKey[tid], c)
		}
	}
	if noInbound > 0 {
		bad("%d tickets have no inbound message", noInbound)
	}
	if nTickets != len(inbound) {
		bad("%d tickets for %d distinct Message-IDs in inbound", nTickets, len(inbound))
	}

	t.Logf("database: %d inbound rows for %d distinct Message-IDs (%d answered 250, %d stored without a 250 seen: spooled, reply lost in the kill), %d tickets, confirmations by state %v (%d claimed more than once)",
		nInbound, len(inbound), len(acked), extra, nTickets, outboxStates, reclaimed)
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d problems (%d Message-IDs answered 250 lost); the first ones:\n%s",
			len(problems), lost, strings.Join(first(problems, 20), "\n"))
	} else {
		t.Logf("every one of the %d Message-IDs answered 250 has exactly one inbound row, one ticket and one confirmation; no Message-ID has two tickets", len(acked))
	}
}

// checkSentFolder reads the .eml files that serve wrote to <data-dir>/sent (no --relay)
// and asserts that each requester whose message was answered 250 got a confirmation,
// and none two different ones. The same confirmation written twice (written before the
// kill, not yet recorded as sent) is at-least-once delivery: counted, not an error.
func checkSentFolder(t *testing.T, dir string, mails []mail, acked map[string]bool, ids []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("sent folder: %v", err)
		return
	}
	byTo := map[string]map[string]int{} // requester → Message-ID → files
	files := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Errorf("sent folder: %v", err)
			return
		}
		m, err := netmail.ReadMessage(f)
		if err != nil {
			f.Close()
			t.Errorf("sent folder: %s: %v", e.Name(), err)
			continue
		}
		files++
		to, err := netmail.ParseAddressList(m.Header.Get("To"))
		f.Close()
		if err != nil {
			t.Errorf("sent folder: %s: To: %v", e.Name(), err)
			continue
		}
		for _, a := range to {
			k := strings.ToLower(a.Address)
			if byTo[k] == nil {
				byTo[k] = map[string]int{}
			}
			byTo[k][m.Header.Get("Message-ID")]++
		}
	}
	var none, twiceSame, distinct []string
	for i, m := range mails {
		if !acked[ids[i]] {
			continue
		}
		got := byTo[strings.ToLower(m.from)]
		copies := 0
		for _, c := range got {
			copies += c
		}
		switch {
		case len(got) == 0:
			none = append(none, ids[i])
		case len(got) > 1:
			distinct = append(distinct, ids[i])
		case copies > 1:
			twiceSame = append(twiceSame, ids[i])
		}
	}
	t.Logf("sent folder: %d .eml files to %d addresses; requesters answered 250 without a confirmation: %d, with the same one twice: %d, with two different ones: %d",
		files, len(byTo), len(none), len(twiceSame), len(distinct))
	if len(none) > 0 || len(distinct) > 0 {
		t.Errorf("confirmations: none for %v; two different ones for %v", first(none, 10), first(distinct, 10))
	}
}
