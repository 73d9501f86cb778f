package multitest

import (
	"bytes"
	"database/sql"
	"fmt"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/internal/smtpsink"
)

// counts is the database's state while the run settles.
type counts struct {
	tickets, inbound, outbox, notSent, imapLeft int
	imapEmptyAt                                 time.Time
}

// settle waits until every mail is a ticket, every outbox row is sent and the IMAP
// folder is empty, or until deadline.
func settle(db *sql.DB, mb *mailbox, deadline time.Time) (counts, error) {
	var c counts
	for {
		err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM tickets), (SELECT COUNT(*) FROM inbound),
			(SELECT COUNT(*) FROM outbox), (SELECT COUNT(*) FROM outbox WHERE state <> 'sent')`).
			Scan(&c.tickets, &c.inbound, &c.outbox, &c.notSent)
		if err != nil {
			return c, err
		}
		if c.imapLeft, err = mb.left(); err != nil {
			return c, err
		}
		if c.imapLeft == 0 && c.imapEmptyAt.IsZero() {
			c.imapEmptyAt = time.Now()
		}
		if c.tickets >= smtpMails+imapMails && c.imapLeft == 0 && c.outbox >= c.tickets && c.notSent == 0 {
			return c, nil
		}
		if time.Now().After(deadline) {
			return c, fmt.Errorf("not settled in time")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// check asserts and prints the counts of the settled run.
func check(t *testing.T, db *sql.DB, sink *smtpsink.Sink, mb *mailbox, mails []mail) {
	t.Helper()
	n := len(mails)

	// Tickets: keys 1…n, no gap, no duplicate, one per requester.
	rows, err := db.Query(`SELECT t.key, t.number, u.email FROM tickets t JOIN users u ON u.id = t.requester_id ORDER BY t.number`)
	if err != nil {
		t.Fatal(err)
	}
	var tickets int
	keysOK := true
	requesters := map[string]int{}
	for rows.Next() {
		var key, email string
		var number int
		if err := rows.Scan(&key, &number, &email); err != nil {
			t.Fatal(err)
		}
		tickets++
		if number != tickets || key != fmt.Sprintf("AURAN1-%d", tickets) {
			if keysOK {
				t.Errorf("ticket %d has key %s (number %d)", tickets, key, number)
			}
			keysOK = false
		}
		requesters[strings.ToLower(email)]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if tickets != n || len(requesters) != n {
		t.Errorf("%d tickets from %d requesters, want %d", tickets, len(requesters), n)
	}
	t.Logf("tickets: %d; keys AURAN1-1…AURAN1-%d without gaps or duplicates: %v; distinct requesters: %d",
		tickets, tickets, keysOK, len(requesters))

	// Inbound: one row per mail, by channel, all processed.
	var smtpIn, imapIn, processed, inbound int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(*) FILTER (WHERE channel = 'smtp'), COUNT(*) FILTER (WHERE channel = 'imap'),
		COUNT(*) FILTER (WHERE state = 'processed') FROM inbound`).Scan(&inbound, &smtpIn, &imapIn, &processed); err != nil {
		t.Fatal(err)
	}
	if inbound != n || smtpIn != smtpMails || imapIn != imapMails || processed != n {
		t.Errorf("inbound %d (smtp %d, imap %d, processed %d), want %d (%d, %d, %d)", inbound, smtpIn, imapIn, processed, n, smtpMails, imapMails, n)
	}
	t.Logf("inbound rows: %d (smtp %d, imap %d), processed %d", inbound, smtpIn, imapIn, processed)

	// Outbox: one confirmation per ticket, sent; claims beyond the first are rows that
	// A had claimed when it died (or sends that failed and were retried).
	var outbox, confirmations, sent, reclaimed int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(*) FILTER (WHERE kind = 'confirmation'), COUNT(*) FILTER (WHERE state = 'sent'),
		COUNT(*) FILTER (WHERE attempts > 1) FROM outbox`).Scan(&outbox, &confirmations, &sent, &reclaimed); err != nil {
		t.Fatal(err)
	}
	if outbox != n || confirmations != n || sent != n {
		t.Errorf("outbox %d rows (%d confirmations, %d sent), want %d", outbox, confirmations, sent, n)
	}
	t.Logf("outbox: %d confirmations, %d sent; rows claimed more than once: %d", confirmations, sent, reclaimed)

	// The relay: one confirmation per requester, counted by To address.
	received := sink.Messages()
	byTo := map[string]map[string]int{} // requester → Message-ID → copies
	for _, msg := range received {
		id := messageID(msg.Data)
		for _, to := range msg.To {
			to = strings.ToLower(to)
			if byTo[to] == nil {
				byTo[to] = map[string]int{}
			}
			byTo[to][id]++
		}
	}
	var once, twiceSameID, distinctIDs int
	for _, m := range mails {
		ids := byTo[strings.ToLower(m.from)]
		copies := 0
		for _, c := range ids {
			copies += c
		}
		switch {
		case len(ids) > 1:
			distinctIDs++
		case copies == 1:
			once++
		case copies > 1:
			twiceSameID++
		}
	}
	missing := n - once - twiceSameID - distinctIDs
	t.Logf("relay sink: %d messages to %d addresses; requesters with exactly one: %d; with the same confirmation twice (at-least-once edge): %d; with two different confirmations: %d; with none: %d",
		len(received), len(byTo), once, twiceSameID, distinctIDs, missing)
	if missing != 0 || distinctIDs != 0 || len(byTo) != n {
		t.Errorf("relay: %d requesters without a confirmation, %d with two different ones, %d addresses for %d requesters", missing, distinctIDs, len(byTo), n)
	}
	if twiceSameID > reclaimed {
		t.Errorf("%d confirmations sent twice but only %d rows were claimed twice", twiceSameID, reclaimed)
	}

	// IMAP: every message moved once to the processed folder, none refused or left.
	taken, err := mb.taken(false)
	if err != nil {
		t.Fatal(err)
	}
	left, _ := mb.left()
	total, processed := 0, 0
	for name, c := range taken {
		total += c
		if strings.Contains(name, "Trait") {
			processed += c
		}
	}
	t.Logf("imap: %d of %d messages in the processed folders %v, %d left in the run's folder", total, imapMails, taken, left)
	if total != imapMails || left != 0 || processed != imapMails {
		t.Errorf("imap: %v and %d left, want %d in Guichet/Traité", taken, left, imapMails)
	}
}

// messageID returns the Message-ID of raw, "" when it has none.
func messageID(raw []byte) string {
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return m.Header.Get("Message-ID")
}
