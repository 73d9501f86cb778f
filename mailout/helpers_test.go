package mailout

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/guichet/guichet/internal/testcert"
	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

var created = time.Date(2026, 11, 28, 12, 21, 0, 0, time.UTC)

// sampleMail is a confirmation of AURAN1-13 to its requester.
func sampleMail() ticket.OutboxMail {
	return ticket.OutboxMail{
		ID:         7,
		Kind:       ticket.MailConfirmation,
		TicketKey:  "AURAN1-13",
		To:         ticket.Address{Name: "Élodie Martin", Email: "elodie.martin@ac-lyon.fr"},
		Lang:       "fr",
		TimeZone:   "Europe/Paris",
		MessageID:  "guichet.7.a1b2@localhost",
		InReplyTo:  "CAF00d@mail.ac-lyon.fr",
		References: []string{"CAF00d@mail.ac-lyon.fr"},
		ReplyTo:    "support+AURAN1-13.k3j4h5@localhost",
		CreatedAt:  created,
		Data: ticket.MailData{
			Ticket: ticket.TicketView{
				Key:         "AURAN1-13",
				Summary:     "Impossible d'accéder à l'ENT",
				Description: "Les élèves ne peuvent plus se connecter.",
				Status:      ticket.StatusNew,
				Requester:   ticket.Address{Name: "Élodie Martin", Email: "elodie.martin@ac-lyon.fr"},
				UAI:         "0690026D",
				Source:      ticket.SourceEmail,
				CreatedAt:   created,
			},
			Link:     "http://127.0.0.1:8080/requests/AURAN1-13",
			DeskName: "Assistance ENT",
		},
	}
}

func mustTemplates(t *testing.T) *templates.Templates {
	t.Helper()
	tm, err := templates.New("")
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// blobs is an in-memory BlobReader.
type blobs map[string][]byte

func (b blobs) OpenBlob(_ context.Context, sum string) (io.ReadCloser, error) {
	data, ok := b[sum]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// received is one message taken by the sink.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// sink is an SMTP server on 127.0.0.1 standing for the relay.
type sink struct {
	Addr string

	mu       sync.Mutex
	msgs     []received
	dataErrs []error // answers to the next DATA commands, in order; nil accepts
	rcptErr  error
	user     string // required credentials when set
	pass     string
	delay    time.Duration // before answering DATA
	conns    []*smtp.Conn  // every session opened, in order
}

type sinkOptions struct {
	startTLS *tls.Config // offered with STARTTLS
	implicit *tls.Config // smtps
	user     string
	pass     string
}

func startSink(t *testing.T, o sinkOptions) *sink {
	t.Helper()
	s := &sink{user: o.user, pass: o.pass}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		return &sinkSession{s: s, tls: isTLS, conn: c}, nil
	}))
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.TLSConfig = o.startTLS
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit != nil {
		l = tls.NewListener(l, o.implicit)
	}
	s.Addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sink) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// sessions returns how many connections were opened (a STARTTLS makes a new SMTP
// session on the same connection).
func (s *sink) sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[*smtp.Conn]bool{}
	for _, c := range s.conns {
		seen[c] = true
	}
	return len(seen)
}

// hangUp closes every open session from the server's side, as a relay does with idle
// ones.
func (s *sink) hangUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

type sinkSession struct {
	s    *sink
	conn *smtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (ss *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != ss.s.user || pass != ss.s.pass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.rcptErr != nil {
		return ss.s.rcptErr
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	delay := ss.s.delay
	var answer error
	if len(ss.s.dataErrs) > 0 {
		answer, ss.s.dataErrs = ss.s.dataErrs[0], ss.s.dataErrs[1:]
	}
	ss.s.mu.Unlock()
	time.Sleep(delay)
	if answer != nil {
		return answer
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, received{From: ss.from, To: ss.to, Data: b, TLS: isTLS || ss.tls, User: ss.user})
	ss.s.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

var (
	errTempfail = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try later"}
	errNoUser   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
)

// selfSigned makes a certificate for 127.0.0.1 and a client config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) { return testcert.New(t) }

// fakeQueue is an in-memory Queue with error injection.
type fakeQueue struct {
	mu   sync.Mutex
	rows []*fakeRow

	ClaimErr, SentErr, RetryErr, FailedErr error
	released                               int   // rows given back unsent
	claims                                 []int // the limit of each claim
}

type fakeRow struct {
	m            ticket.OutboxMail
	state        ticket.OutboxState
	next         time.Time
	claimedUntil time.Time
	response     string
	errText      string
	retries      int
}

func (q *fakeQueue) add(m ticket.OutboxMail) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rows = append(q.rows, &fakeRow{m: m, state: ticket.OutboxPending})
}

func (q *fakeQueue) row(id int64) fakeRow {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range q.rows {
		if r.m.ID == id {
			return *r
		}
	}
	return fakeRow{}
}

// makeDue makes every pending row due now.
func (q *fakeQueue) makeDue() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, r := range q.rows {
		r.next = time.Time{}
	}
}

func (q *fakeQueue) find(id int64) (*fakeRow, error) {
	for _, r := range q.rows {
		if r.m.ID == id {
			return r, nil
		}
	}
	return nil, errors.New("no such row")
}

func (q *fakeQueue) ClaimOutbox(_ context.Context, limit int, lease time.Duration) ([]ticket.OutboxMail, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ClaimErr != nil {
		return nil, q.ClaimErr
	}
	q.claims = append(q.claims, limit)
	now := time.Now()
	var out []ticket.OutboxMail
	for _, r := range q.rows {
		if len(out) == limit {
			break
		}
		if r.state == ticket.OutboxPending && !r.next.After(now) && !r.claimedUntil.After(now) {
			r.claimedUntil = now.Add(lease)
			out = append(out, r.m)
		}
	}
	return out, nil
}

func (q *fakeQueue) ReleaseOutbox(_ context.Context, ids []int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		for _, r := range q.rows {
			if r.m.ID == id && r.state == ticket.OutboxPending {
				r.claimedUntil = time.Time{}
				q.released++
			}
		}
	}
	return nil
}

func (q *fakeQueue) MarkSent(_ context.Context, id int64, response string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.SentErr != nil {
		return q.SentErr
	}
	r, err := q.find(id)
	if err != nil {
		return err
	}
	r.state, r.response, r.claimedUntil = ticket.OutboxSent, response, time.Time{}
	return nil
}

func (q *fakeQueue) MarkRetry(_ context.Context, id int64, next time.Time, errText string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.RetryErr != nil {
		return q.RetryErr
	}
	r, err := q.find(id)
	if err != nil {
		return err
	}
	r.next, r.errText, r.claimedUntil = next, errText, time.Time{}
	r.retries++
	r.m.Attempts++
	return nil
}

func (q *fakeQueue) MarkFailed(_ context.Context, id int64, errText string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.FailedErr != nil {
		return q.FailedErr
	}
	r, err := q.find(id)
	if err != nil {
		return err
	}
	r.state, r.errText, r.claimedUntil = ticket.OutboxFailed, errText, time.Time{}
	return nil
}

// parts is what readParts finds in a message: its attachments, in order, and the
// bodies of its inline parts.
type parts struct {
	files  []filePart
	inline []string
}

type filePart struct{ name, body string }

// readParts reads every part of mr.
func readParts(t *testing.T, mr *mail.Reader) parts {
	t.Helper()
	var ps parts
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return ps
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				t.Fatal(err)
			}
			ps.files = append(ps.files, filePart{name, string(body)})
		case *mail.InlineHeader:
			ps.inline = append(ps.inline, string(body))
		}
	}
}
