package parse

import (
	"fmt"
	"html"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"

	"github.com/guichet/guichet/ticket"
)

// fillHeader sets the header fields of in from h.
func (w *walker) fillHeader(in *ticket.Inbound, h textproto.Header) {
	_, params := w.memo.mediaHeader(h.Get("Content-Type"), "")
	fb := strings.ToLower(params["charset"]) // raw 8-bit header bytes are most often in the body's charset
	if fb == "" || fb == "us-ascii" || fb == "utf-8" {
		fb = w.fallback
	}
	in.MessageID = parseMsgID(h.Get("Message-Id"))
	in.InReplyTo = parseMsgIDList(h.Get("In-Reply-To"))
	in.References = parseMsgIDList(strings.Join(h.Values("References"), " "))
	in.From = firstAddress(h, fb, w.memo.addressList, "From", "Sender", "Return-Path")
	in.ReplyTo = parseAddressListLenient(decodeHeaderRaw(h.Get("Reply-To"), fb))
	in.To = parseAddressListLenient(decodeHeaderRaw(strings.Join(h.Values("To"), ", "), fb))
	in.Cc = parseAddressListLenient(decodeHeaderRaw(strings.Join(h.Values("Cc"), ", "), fb))
	in.Subject = strings.TrimSpace(decodeHeader(h.Get("Subject"), fb))
	in.Summary, in.ThreadKey, in.BareKeys = normalizeSubject(in.Subject)
	in.Date = parseDateLenient(h.Get("Date"))
}

// parseMemo remembers the last answers of the header parsers that one message asks
// twice or more: fillHeader, the walk and detectAutomatic each read the sender fields
// or the Content-Type. A nil *parseMemo remembers nothing.
type parseMemo struct {
	addrIn  [4]string
	addrOut [4][]ticket.Address
	nAddr   int
	media   [3]mediaAnswer
	nMedia  int
}

// mediaAnswer is what parseMediaHeader answered for a value and a fallback charset.
type mediaAnswer struct {
	v, fallback string
	mt          string
	params      map[string]string
}

// addressList is parseAddressListLenient(s). Its lists are read, never kept in an
// Inbound, so that no two fields of one share a list.
func (m *parseMemo) addressList(s string) []ticket.Address {
	if m == nil {
		return parseAddressListLenient(s)
	}
	for i := range min(m.nAddr, len(m.addrIn)) {
		if m.addrIn[i] == s {
			return m.addrOut[i]
		}
	}
	l := parseAddressListLenient(s)
	m.addrIn[m.nAddr%len(m.addrIn)], m.addrOut[m.nAddr%len(m.addrIn)] = s, l
	m.nAddr++
	return l
}

// mediaHeader is parseMediaHeader(v, fallback); its callers only read the parameters.
// The fallback charset reads raw 8-bit bytes and RFC 2231 values without a charset:
// for a value in UTF-8 without "*", the answer is the same whatever the fallback.
func (m *parseMemo) mediaHeader(v, fallback string) (string, map[string]string) {
	if m == nil {
		return parseMediaHeader(v, fallback)
	}
	if utf8.ValidString(v) && strings.IndexByte(v, '*') < 0 {
		fallback = ""
	}
	for i := range min(m.nMedia, len(m.media)) {
		if a := m.media[i]; a.v == v && a.fallback == fallback {
			return a.mt, a.params
		}
	}
	mt, params := parseMediaHeader(v, fallback)
	m.media[m.nMedia%len(m.media)] = mediaAnswer{v: v, fallback: fallback, mt: mt, params: params}
	m.nMedia++
	return mt, params
}

// decodeHeaderRaw converts raw 8-bit bytes of an address header to UTF-8 but leaves
// encoded-words for the address parser, which decodes them inside display names only.
// An encoded-word that itself holds raw 8-bit bytes (in its text or in its charset's
// name) is decoded here, in its charset, so that the result is always UTF-8.
func decodeHeaderRaw(s, fallback string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for s != "" {
		i := strings.Index(s, "=?")
		if i < 0 {
			b.WriteString(headerText(fallback, s))
			break
		}
		b.WriteString(headerText(fallback, s[:i]))
		_, _, _, n, ok := parseEncodedWord(s[i:])
		switch {
		case !ok:
			b.WriteString("=?")
			s = s[i+2:]
			continue
		case isASCII([]byte(s[i : i+n])):
			b.WriteString(s[i : i+n])
		default:
			b.WriteString(decodeHeader(s[i:i+n], fallback))
		}
		s = s[i+n:]
	}
	return b.String()
}

// firstAddress returns the first mailbox with an address in the first of keys that
// has one (a header may be repeated; a broken first From is followed by a good one).
// parseList is parseAddressListLenient, or a memo of it.
func firstAddress(h textproto.Header, fb string, parseList func(string) []ticket.Address, keys ...string) ticket.Address {
	for _, k := range keys {
		for _, v := range h.Values(k) {
			for _, a := range parseList(decodeHeaderRaw(v, fb)) {
				if strings.Contains(a.Email, "@") {
					return a
				}
			}
		}
	}
	for _, k := range keys {
		if l := parseList(decodeHeaderRaw(h.Get(k), fb)); len(l) > 0 {
			return l[0]
		}
	}
	return ticket.Address{}
}

var dateComment = regexp.MustCompile(`\([^)]*\)`)

// parseDateLenient parses a Date header, tolerating comments, missing seconds or day
// names and a few common deviations. It returns the zero time when nothing fits.
func parseDateLenient(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if t, ok := parseDateCommon(v); ok {
		return t
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t
	}
	v = strings.Join(strings.Fields(dateComment.ReplaceAllString(v, "")), " ")
	for _, layout := range []string{
		"Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST", "2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04 -0700", "Mon, 2 Jan 06 15:04:05 -0700", "Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006", "Mon, 2 Jan 2006 15:04:05", "2006-01-02 15:04:05 -0700",
		time.RFC3339, "Mon, 2 January 2006 15:04:05 -0700", "Monday, 2 Jan 2006 15:04:05 -0700",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t
		}
	}
	return time.Time{}
}

// dateLayoutCommon is how nearly every mailer writes the date (RFC 5322 with the day of
// the week and a numeric zone).
const dateLayoutCommon = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDateCommon is mail.ParseDate for the common form of v, trimmed, without its
// cost (it tries a dozen layouts without the day of the week first, each failure an
// allocated error). When v holds no CR or LF and its first "+" or "-" starts its last
// five bytes, ParseDate tries its layouts on v itself with nothing after it; the
// layouts before dateLayoutCommon start with the day of the month, which a string that
// dateLayoutCommon reads (it starts with the name of a day) never does, so ParseDate
// returns what time.Parse does with dateLayoutCommon. TestParseDateCommon compares the two.
func parseDateCommon(v string) (time.Time, bool) {
	if len(v) < 5 || strings.IndexAny(v, "+-") != len(v)-5 || strings.ContainsAny(v, "\r\n") || v[0] == ' ' || v[0] == '\t' {
		return time.Time{}, false
	}
	t, err := time.Parse(dateLayoutCommon, v)
	return t, err == nil
}

// fillBody sets Text, Visible and HTML from the pieces of the body and the text of
// attached messages.
func (w *walker) fillBody(in *ticket.Inbound, pieces []piece) {
	var texts, htmls []string
	hasHTML := false
	for _, pc := range pieces {
		if pc.html != "" {
			hasHTML = true
		}
	}
	for _, pc := range pieces {
		plain := pc.text()
		if t := strings.TrimRight(plain, " \t\n"); strings.TrimSpace(t) != "" {
			texts = append(texts, strings.TrimLeft(t, "\n"))
		}
		switch {
		case pc.html != "":
			htmls = append(htmls, pc.html)
		case hasHTML && strings.TrimSpace(plain) != "":
			htmls = append(htmls, "<pre>"+html.EscapeString(plain)+"</pre>")
		}
	}
	in.Text = strings.Join(texts, "\n\n")
	// under "FW:", Outlook's header block starts the forwarded mail, which stays
	var tcuts []textCut
	fwd := isForwardSubject(in.Subject)
	in.Visible, tcuts = visibleTextCuts(in.Text, fwd)
	var hcuts []htmlCut
	if hasHTML {
		// Clients mark their quotes in the HTML (gmail_quote, blockquote type=cite,
		// divRplyFwdMsg…), more surely than any text rule can find them: when they did,
		// the visible text comes from the HTML without the quote.
		var v string
		if v, hcuts = visibleFromHTMLOf(strings.Join(htmls, "\n"), fwd); v != "" {
			in.Visible = v
		}
	}
	if w.cuts != nil {
		*w.cuts = quoteCuts(tcuts, hcuts)
	}
	for _, f := range w.forwarded {
		if in.Text != "" {
			in.Text += "\n\n"
		}
		in.Text += f
	}
	if in.Visible == "" && len(w.forwarded) > 0 {
		in.Visible = strings.TrimSpace(in.Text)
	}
	if hasHTML {
		in.HTML = sanitizeHTML(strings.Join(htmls, "\n"))
	}
}

// QuoteCut is one part of a mail's text that the quote rules removed from its visible
// text (or, Kept, a forwarded mail they found and kept): which rule, and the text.
type QuoteCut struct {
	Rule string `json:"rule"`
	Text string `json:"text"`
	Kept bool   `json:"kept,omitempty"`
}

// quoteCuts lists the cuts that made the visible text: the HTML structures' when the
// HTML had some, else the text rules'.
func quoteCuts(tcuts []textCut, hcuts []htmlCut) []QuoteCut {
	out := []QuoteCut{}
	if len(hcuts) > 0 {
		for _, c := range hcuts {
			out = append(out, QuoteCut{Rule: "html:" + c.Rule, Text: c.Text, Kept: c.Kept})
		}
		return out
	}
	for _, c := range tcuts {
		out = append(out, QuoteCut{Rule: c.Rule, Text: c.Text})
	}
	return out
}

// forwardedText renders an attached message for the body: a short header block, then
// its text.
func forwardedText(sub *ticket.Inbound, pieces []piece) string {
	var b strings.Builder
	b.WriteString("---------- Forwarded message ----------\n")
	if sub.From.Email != "" {
		fmt.Fprintf(&b, "From: %s\n", formatAddress(sub.From))
	}
	if !sub.Date.IsZero() {
		fmt.Fprintf(&b, "Date: %s\n", sub.Date.Format(time.RFC1123Z))
	}
	if sub.Subject != "" {
		fmt.Fprintf(&b, "Subject: %s\n", sub.Subject)
	}
	if len(sub.To) > 0 {
		var to []string
		for _, a := range sub.To {
			to = append(to, formatAddress(a))
		}
		fmt.Fprintf(&b, "To: %s\n", strings.Join(to, ", "))
	}
	b.WriteString("\n")
	var texts []string
	for _, pc := range pieces {
		if t := strings.TrimSpace(pc.text()); t != "" {
			texts = append(texts, t)
		}
	}
	b.WriteString(strings.Join(texts, "\n\n"))
	return strings.TrimRight(b.String(), "\n")
}

func formatAddress(a ticket.Address) string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name + " <" + a.Email + ">"
}

// bounce builds the Bounce of a delivery report, or of a mailer-daemon message that
// returns an attached original.
func (w *walker) bounce(in *ticket.Inbound) *ticket.Bounce {
	if w.dsn == nil {
		if in.AutoReason == "mailer_daemon" && (w.returnedID != "" || w.forwardedID != "") {
			return &ticket.Bounce{OriginalMessageID: nameOr(w.returnedID, w.forwardedID)}
		}
		return nil
	}
	b := &ticket.Bounce{
		Recipients:        w.dsn.recipients,
		Status:            w.dsn.status,
		Permanent:         strings.HasPrefix(w.dsn.status, "5") || w.dsn.status == "" && w.dsn.failed,
		OriginalMessageID: w.returnedID,
	}
	return b
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676). A line is
// written as it is read, without building the lines of the result apart.
func unflow(s string, delsp bool) string {
	var b strings.Builder
	b.Grow(len(s))
	curDepth := -1 // quote depth of the line being joined, -1 between lines
	started := false
	for rest := s; ; {
		l, more := rest, false
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			l, rest, more = rest[:i], rest[i+1:], true
		}
		depth := 0
		for depth < len(l) && l[depth] == '>' {
			depth++
		}
		raw := strings.TrimPrefix(l[depth:], " ") // space-stuffing
		sp := depth > 0                           // the piece is " " + raw
		if curDepth >= 0 && depth != curDepth {
			curDepth = -1
		}
		if curDepth < 0 {
			if started {
				b.WriteByte('\n')
			}
			started = true
			for range depth {
				b.WriteByte('>')
			}
			curDepth = depth
		} else if depth > 0 {
			sp = false // a continuation of a quoted line joins without the space
		}
		soft := (raw != "" && raw[len(raw)-1] == ' ' || raw == "" && sp) && l != "-- "
		if soft && delsp {
			if raw != "" {
				raw = raw[:len(raw)-1]
			} else {
				sp = false
			}
		}
		if sp {
			b.WriteByte(' ')
		}
		b.WriteString(raw)
		if !soft {
			curDepth = -1
		}
		if !more {
			return b.String()
		}
	}
}
