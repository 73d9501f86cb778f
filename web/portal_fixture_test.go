package web

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guichet/guichet/bizhours"
	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/coord"
	"github.com/guichet/guichet/ticket"
)

// portalFixture is a portal on a fresh SQLite database: Jeanne and Paul at 0690026D,
// Eve at 0380001V, the agent Alice; Jeanne's ticket with a file, Eve's with a file and
// an internal note that carries a file.
type portalFixture struct {
	h           *Handler
	svc         *ticket.Service
	blobs       *blob.Store
	backoff     *testBackoff
	clock       *testClock
	jeanneKey   string
	eveKey      string
	jeanneFile  string // sha256 of the file of Jeanne's ticket
	internalSum string // sha256 of the file of the internal note on Eve's ticket
	users       map[string]ticket.User
}

const testPassword = "motdepasse-1"

// testClock is the fake time of the sign-in limits.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testBackoff is coord's in-process Backoff on the fixture's clock, as cmd adapts it;
// err, when set, is returned instead (Redis down).
type testBackoff struct {
	m       *coord.Memory
	mu      sync.Mutex
	err     error
	longest int // the longest key tried
}

func (b *testBackoff) fail() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *testBackoff) Try(ctx context.Context, key string, p BackoffPolicy) (time.Duration, error) {
	b.mu.Lock()
	b.longest = max(b.longest, len(key))
	b.mu.Unlock()
	if err := b.fail(); err != nil {
		return 0, err
	}
	return b.m.Try(ctx, key, coord.BackoffPolicy(p))
}

func (b *testBackoff) Forgive(ctx context.Context, key string) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.m.Forgive(ctx, key)
}

func (b *testBackoff) Reset(ctx context.Context, key string) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.m.Reset(ctx, key)
}

func newPortal(t testing.TB, opt Options) *portalFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, _, err := ticket.Open(ctx, filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := ticket.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	// SLAs on a calendar open at every hour, so that what agents see does not depend on
	// the day the test runs.
	always, err := bizhours.Parse("Europe/Paris 24x7")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ticket.NewService(ctx, db, ticket.Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"),
		SLA: &ticket.SLAPolicy{Calendar: always, FirstResponse: 8 * time.Hour, Resolution: 40 * time.Hour, WarnBefore: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	f := &portalFixture{svc: svc, blobs: blobs, clock: clock, backoff: &testBackoff{m: coord.NewMemoryClock(clock.Now)},
		users: map[string]ticket.User{}}
	for _, nu := range []ticket.NewUser{
		{Email: "jeanne@ecole.test", Name: "Jeanne Martin", UAI: "0690026D", Password: testPassword},
		{Email: "paul@ecole.test", Name: "Paul Durand", UAI: "0690026D", Password: testPassword},
		{Email: "eve@ailleurs.test", Name: "Eve", UAI: "0380001V", Password: testPassword},
		{Email: "alice@support.test", Name: "Alice Agent", Role: ticket.RoleAgent, Password: testPassword},
	} {
		u, err := svc.AddUser(ctx, nu)
		if err != nil {
			t.Fatal(err)
		}
		f.users[strings.Split(nu.Email, "@")[0]] = u
	}
	put := func(content string) ticket.Attachment {
		sum, n, err := blobs.PutBlob(ctx, strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		return ticket.Attachment{Filename: "note.txt", ContentType: "text/plain", Size: n, SHA256: sum}
	}
	ja := put("le fichier de Jeanne")
	tj, err := svc.CreateTicket(ctx, f.users["jeanne"], ticket.TicketRequest{NewTicket: ticket.NewTicket{
		Summary: "Wifi en panne", Description: "Salle 12\nDepuis lundi", UAI: "0690026D", RequestType: "Incident",
		Attachments: []ticket.Attachment{ja}}})
	if err != nil {
		t.Fatal(err)
	}
	te, err := svc.CreateTicket(ctx, f.users["eve"], ticket.TicketRequest{NewTicket: ticket.NewTicket{
		Summary: "Imprimante", Description: "Bourrage", UAI: "0380001V", Attachments: []ticket.Attachment{put("le fichier d'Eve")}}})
	if err != nil {
		t.Fatal(err)
	}
	ia := put("pièce de la note interne")
	if _, err := svc.AddComment(ctx, f.users["alice"], te.Key, ticket.CommentInput{Body: "secret interne", Visibility: ticket.Internal,
		Attachments: []ticket.Attachment{ia}}); err != nil {
		t.Fatal(err)
	}
	f.jeanneKey, f.eveKey, f.jeanneFile, f.internalSum = tj.Key, te.Key, ja.SHA256, ia.SHA256
	opt.Portal, opt.Blobs = svc, blobs
	if opt.Backoff == nil {
		opt.Backoff = f.backoff
	}
	if opt.Components == nil {
		opt.Components = map[string][]string{"": {"ENT", "Messagerie", "Pronote"}}
	}
	f.h = New(opt)
	return f
}

// do sends a request as the holder of cookie (none when nil); form is sent
// url-encoded for POST.
func (f *portalFixture) do(t *testing.T, cookie *http.Cookie, method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// upload posts a multipart form with files (name → content) in field "attachments".
func (f *portalFixture) upload(t *testing.T, cookie *http.Cookie, target string, form url.Values, field string, files map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for name, content := range files {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+name+`"`)
		hdr.Set("Content-Type", "application/octet-stream")
		p, _ := mw.CreatePart(hdr)
		p.Write([]byte(content))
	}
	mw.Close()
	r := httptest.NewRequest("POST", target, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// login signs in who ("jeanne", "alice", …) and returns the session cookie.
func (f *portalFixture) login(t *testing.T, who string) *http.Cookie {
	t.Helper()
	w := f.do(t, nil, "POST", "/login", url.Values{"email": {who + emailDomain(who)}, "password": {testPassword}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login %s: %d %s", who, w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("login %s: no session cookie", who)
	return nil
}

func emailDomain(who string) string {
	switch who {
	case "eve":
		return "@ailleurs.test"
	case "alice":
		return "@support.test"
	}
	return "@ecole.test"
}

// outboxLinks returns the links of queued mail of kind to address.
func (f *portalFixture) outboxLinks(t *testing.T, kind ticket.MailKind, to string) []string {
	t.Helper()
	ms, err := f.svc.ClaimOutbox(context.Background(), 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Kind == kind && m.To.Email == to {
			out = append(out, m.Data.Link)
		}
	}
	return out
}
