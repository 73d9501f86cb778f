package ticket

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Text that reaches the database.
//
// PostgreSQL refuses a NUL byte or invalid UTF-8 in a text value ("invalid byte sequence
// for encoding UTF8"): one such byte in a Subject or a display name failed the whole
// message, and in a Message-ID or an envelope sender (part of the dedup key) it failed
// the store itself, so that the sender got a 451 on every try. SQLite takes such text,
// but the same mail must read the same on both stores.
//
// So every text argument of every statement is made valid UTF-8 without NUL (cleanText)
// where every statement passes, reads included: in the database connection that Open
// returns (textConn for PostgreSQL, stmtCacheConn for SQLite). A web form, an API body,
// an error message quoting a header, a search: none can bring such a byte to a statement.
// Byte arguments ([]byte: the raw message, a BLOB) are left as they are: the raw
// message keeps the bytes received.
//
// The intake also cleans a delivery's parse result (cleanDelivery) before it stores or
// processes it, so that what the ticket shows and the mails it causes say the same as
// the database.
//
// A NUL is replaced by U+FFFD, as a run of invalid bytes is, rather than dropped:
// dropping could make two different texts equal ("alice@ecole.test\x00" would become
// an agent's address, two Message-IDs one dedup key), and the replacement character
// shows the reader that something unreadable stood there.

// cleanText returns s as valid UTF-8 without NUL: each run of invalid bytes and each NUL
// becomes U+FFFD. It returns s itself (no copy) when there is nothing to change.
func cleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// cleanArg cleans a statement argument of string kind (string, Status, Role, …); other
// values, []byte included, are returned as they are.
func cleanArg(v driver.Value) driver.Value {
	switch x := v.(type) {
	case nil, []byte, int64, int, bool, float64:
		return v
	case string:
		return cleanText(x)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		if s := rv.String(); cleanText(s) != s {
			return cleanText(s)
		}
	}
	return v
}

// textConnector opens PostgreSQL connections (pgx) whose statement arguments are
// cleaned.
type textConnector struct {
	driver.Connector
}

func (c textConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &textConn{Conn: conn}, nil
}

// textConn is a pgx connection whose CheckNamedValue, which database/sql calls for every
// argument of every statement (pgx's statements do not have their own), cleans text.
// The other methods are pgx's, passed through so that database/sql keeps using them.
type textConn struct {
	driver.Conn
}

var (
	_ driver.ConnBeginTx        = (*textConn)(nil)
	_ driver.ConnPrepareContext = (*textConn)(nil)
	_ driver.ExecerContext      = (*textConn)(nil)
	_ driver.QueryerContext     = (*textConn)(nil)
	_ driver.Pinger             = (*textConn)(nil)
	_ driver.SessionResetter    = (*textConn)(nil)
	_ driver.NamedValueChecker  = (*textConn)(nil)
)

func (c *textConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ck, ok := c.Conn.(driver.NamedValueChecker); ok {
		if err := ck.CheckNamedValue(nv); err != nil {
			return err
		}
	} else {
		v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
		if err != nil {
			return err
		}
		nv.Value = v
	}
	nv.Value = cleanArg(nv.Value)
	return nil
}

func (c *textConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *textConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *textConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c *textConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c *textConn) Ping(ctx context.Context) error {
	return c.Conn.(driver.Pinger).Ping(ctx)
}

func (c *textConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

// cleanDelivery returns d with the text of its envelope and parse result cleaned (see
// cleanText); d's own slices are not changed. The raw bytes are left as received.
func cleanDelivery(d Delivery) Delivery {
	d.Env.From = cleanText(d.Env.From)
	d.Env.RemoteAddr = cleanText(d.Env.RemoteAddr)
	d.Env.Recipients = cleanTexts(d.Env.Recipients)
	if d.Msg == nil {
		return d
	}
	m := *d.Msg
	for _, p := range []*string{&m.MessageID, &m.Subject, &m.Summary, &m.ThreadKey, &m.Text, &m.Visible, &m.HTML, &m.AutoReason} {
		*p = cleanText(*p)
	}
	m.InReplyTo, m.References, m.BareKeys, m.Warnings = cleanTexts(m.InReplyTo), cleanTexts(m.References), cleanTexts(m.BareKeys), cleanTexts(m.Warnings)
	m.From = cleanAddress(m.From)
	m.ReplyTo, m.To, m.Cc = cleanAddresses(m.ReplyTo), cleanAddresses(m.To), cleanAddresses(m.Cc)
	if len(m.Attachments) > 0 {
		as := make([]Attachment, len(m.Attachments))
		for i, a := range m.Attachments {
			a.Filename, a.ContentType, a.ContentID = cleanText(a.Filename), cleanText(a.ContentType), cleanText(a.ContentID)
			as[i] = a
		}
		m.Attachments = as
	}
	if b := m.Bounce; b != nil {
		nb := *b
		nb.OriginalMessageID, nb.Status, nb.Recipients = cleanText(b.OriginalMessageID), cleanText(b.Status), cleanTexts(b.Recipients)
		m.Bounce = &nb
	}
	a := &m.Auth
	for _, p := range []*string{&a.DKIM, &a.DKIMDomain, &a.SPF, &a.SPFDomain, &a.DMARC, &a.Source} {
		*p = cleanText(*p)
	}
	d.Msg = &m
	return d
}

// cleanTexts returns ss cleaned: ss itself when it is clean, else a new slice.
func cleanTexts(ss []string) []string {
	for i, s := range ss {
		if cleanText(s) == s {
			continue
		}
		out := append([]string(nil), ss...)
		for j := i; j < len(out); j++ {
			out[j] = cleanText(out[j])
		}
		return out
	}
	return ss
}

func cleanAddress(a Address) Address {
	return Address{Name: cleanText(a.Name), Email: cleanText(a.Email)}
}

// cleanAddresses returns as cleaned: as itself when it is clean, else a new slice.
func cleanAddresses(as []Address) []Address {
	for i, a := range as {
		if cleanAddress(a) == a {
			continue
		}
		out := append([]Address(nil), as...)
		for j := i; j < len(out); j++ {
			out[j] = cleanAddress(out[j])
		}
		return out
	}
	return as
}
