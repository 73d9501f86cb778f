// Package mailout sends Guichet's outbound mail: the outbox worker claims rows that the
// ticket service wrote in the same transaction as the change they tell about, renders
// them with package templates, builds the MIME message (Build) and hands it to a Sender:
// an SMTP relay (RelaySender) or, without one, a folder of .eml files (DirSender).
//
// # Delivery contract
//
// A row is claimed under a lease, so that one instance sends it. After the relay accepts
// the message (250 to the end of DATA) the row is marked sent at once. If that mark
// fails, the worker logs it at error level and leaves the row alone: its lease expires
// and it may be sent a second time. Delivery is therefore at least once; the window is
// the time between the relay's 250 and the database's commit.
//
// # Failures
//
// IsTemporary classifies errors in one place. Temporary failures (4xx replies, network
// errors, a relay that cannot be reached or refuses our session) are retried with a
// growing delay (Options.Backoff) until the mail is older than Options.MaxAge; permanent
// failures (5xx replies to MAIL, RCPT or DATA, mails that cannot be rendered or built) are
// marked failed with the relay's answer.
package mailout
