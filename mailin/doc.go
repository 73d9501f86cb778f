// Package mailin is the transport half of inbound mail: it takes messages off the wire
// and hands them, with their envelope, to the ticket service. What a message says is
// the business of its subpackage parse, which never touches SMTP or IMAP.
//
// Every channel ends in a [Deliverer]. The SMTP and LMTP listener ([SMTPServer],
// go-smtp) puts a Received trace field before the data and calls it; the IMAP pollers
// ([IMAPPoller], go-imap v2) call it for each new message of their folder; `guichet
// ingest` calls it with a message read from standard input. [Intake] is the Deliverer
// of them all: it parses the message with parse.Message in the caller's goroutine and
// hands raw bytes and result to the ticket service, which stores both in one commit, or
// keeps the raw message in a spool ([Spooler]) and answers before the database's work
// (not for IMAP mail, which the server keeps until it is stored).
// Its answer is the channel's: nil is a 250 (the message is durably stored), an error
// wrapping [ErrRefused] a permanent 5xx (or the Refused folder), anything else a 4xx
// after which the sender, or the poller, tries again.
//
// # Files
//
//   - smtp.go: [SMTPServer], [SMTPOptions] and their defaults, [Deliverer], [ErrRefused].
//   - smtp_session.go: one SMTP/LMTP session: MAIL, RCPT, DATA (one status for every LMTP recipient).
//   - smtp_data.go: reading the data within its limits and deadlines; delivery replies.
//   - smtp_limits.go: connection counts, junk commands and errors per session (421).
//   - smtp_shutdown.go: a graceful stop that lets transactions in progress finish.
//   - smtp_trace.go: the Received field the listener adds.
//   - imap.go: [IMAPOptions] (the mailbox URL), [NewIMAPPoller], the lease interfaces.
//   - imap_run.go: [IMAPPoller]'s loop: lease, connect, sync, wait, start over.
//   - imap_conn.go: dialling (TLS, STARTTLS required off loopback), login, the cursor of
//     the folder, its UIDVALIDITY asked again after each wait.
//   - imap_sync.go: fetching past the cursor in batches, delivering, filing.
//   - imap_wait.go: IDLE or polling until new mail may be there, or the server says NO/BYE.
//   - imap_watch.go: finding the untagged NO and BYE that imapclient drops.
//   - intake.go: [Intake], [NewIntake], the Acceptor and Receiver interfaces.
//   - spool.go: [Spooler] and [Intake.Replay] of what was spooled before a restart.
package mailin
