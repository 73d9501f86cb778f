// Package parse turns one raw RFC 5322 message into a ticket.Inbound. It is the MIME
// half of mailin and never touches SMTP or IMAP: the listener, the pollers, ingest and
// the retry of stored messages all hand it bytes, and inspect calls it without storing
// anything.
//
// # What goes in, what comes out
//
// [Message] takes the raw bytes as received (CRLF or LF line ends, a leading mbox
// "From " line skipped), a [BlobWriter] for attachments and [Options]: the loop header,
// the support addresses, and what the channel knows of the message (envelope sender,
// channel, client address, our authserv-id and trusted relays). It returns the decoded
// headers (addresses, subject, Message-ID and references), the subject's summary and
// ticket keys, the body as text (HTML converted) and as sanitised HTML, the visible part
// of a reply (quotes and signature removed), the attachments as blob references,
// whether the mail is automatic and why, the delivery status of a bounce, and the
// sender-authentication verdict. [Inspect] does the same with [HashOnly] and returns
// what `guichet inspect --json` prints.
//
// # Leniency
//
// Mail in the wild is often broken. Message keeps whatever it can read and records what
// it could not in Inbound.Warnings: an unknown charset, a damaged base64 part, a
// multipart without its closing boundary, nesting deeper than Options.MaxDepth, more
// than 2000 parts, a text part over 8 MiB (cut there). It returns an error only when the message
// has no readable header at all ([ErrNoHeader]), or when the BlobWriter fails
// ([ErrStore]: a storage error, worth a retry). It never panics: a panic inside is
// recovered and becomes a warning, or an error when nothing was read yet.
//
// Message reads headers and multipart structure with go-message's textproto package but
// undoes transfer encodings and charsets itself: message.New converts text/* parts to
// UTF-8 (which would change the bytes, and so the hash, of a text attachment) and stops
// at the first bad base64 byte.
//
// # The blob writer
//
// Attachments, inline images and attached messages (as .eml files) are streamed into
// the BlobWriter, never held whole in memory. PutBlob must read its reader to the end
// and return the SHA-256 and size of what it read; Message calls it once at a time, and
// for an attached message/rfc822 part from a goroutine of its own while the parser reads
// the same bytes through a pipe. An error from PutBlob makes Message fail with ErrStore:
// the caller keeps the raw message and tries again later rather than store a message
// whose files are missing.
//
// # Sender authentication
//
// Anyone can write an Authentication-Results field, so only the fields of our
// authserv-id that the trusted MTA added count (RFC 8601 section 5): the topmost ones,
// above the Received field of the hop where the mail entered it. On SMTP and LMTP the
// client wrote the whole header, so none counts unless the client is in
// Options.TrustedRelays ([RelayTrusted]). When none counts and Options.CheckDKIM is set,
// the DKIM signatures are verified here (go-msgauth).
//
// # Files
//
//   - parse.go: [Message], [Options], [BlobWriter], [HashOnly], the lenient header reader.
//   - parse_walk.go: the walk of the MIME tree (multiparts, alternatives, limits).
//   - parse_part.go: one part: text, stored attachment, attached message, truncation.
//   - parse_fill.go: Inbound's header fields and body from the walk's pieces; bounces.
//   - parse_header.go: RFC 2047 encoded words and charsets of header values.
//   - parse_params.go: Content-Type and Content-Disposition parameters (RFC 2231).
//   - parse_addr.go: lenient addresses, address lists and Message-IDs.
//   - parse_decode.go: transfer decoders (base64, quoted-printable) that keep going.
//   - parse_utf7.go, parse_uu.go: the UTF-7 charset; uuencoded attachments in a body.
//   - html.go: HTML to text, and the sanitiser of the HTML copy.
//   - quote.go, quote_header.go, quote_sig.go: the visible part of a reply: quote
//     headers in many languages, quoted blocks, signatures.
//   - html_quote.go: the quote of a reply found in its HTML by the structures clients
//     write (gmail_quote, blockquote type=cite, Outlook's header blocks…), before the
//     text rules.
//   - quote_sent.go: [StripSent], a quote of a mail we sent found by comparing the reply
//     with that mail's text, without any marker; ticket calls it (through cmd) for a
//     reply that names mail of its thread. Message and Inspect know no thread and keep
//     to the generic rules.
//   - subject.go: the summary of a subject, its [#KEY] token and bare keys.
//   - auto.go, auto_dsn.go: automatic mail (loops, auto-replies, lists, bounces) and
//     delivery status notifications.
//   - auth.go, auth_results.go, auth_dkim.go: the sender-authentication verdict, which
//     Authentication-Results fields count, our own DKIM check.
//   - inspect.go: [Inspect] and its JSON result.
//
// The tests read golden messages under testdata/, and the shared corpora of real mail
// (GUICHET_CORPORA, else ../shared/corpora beside the repository) when present.
package parse
