package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
	"github.com/jmoiron/sqlx"
)

// apiStores opens the databases the API tests run on: SQLite always, PostgreSQL when
// GUICHET_TEST_POSTGRES is set.
func apiStores(t *testing.T) map[string]func(t *testing.T) *sqlx.DB {
	m := map[string]func(t *testing.T) *sqlx.DB{"sqlite": func(t *testing.T) *sqlx.DB {
		db, _, err := ticket.Open(context.Background(), filepath.Join(t.TempDir(), "g.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
	base := os.Getenv("GUICHET_TEST_POSTGRES")
	if base == "" {
		return m
	}
	m["postgres"] = func(t *testing.T) *sqlx.DB {
		admin, _, err := ticket.Open(context.Background(), base)
		if err != nil {
			t.Fatal(err)
		}
		var b [6]byte
		rand.Read(b[:])
		name := "guichet_w_" + hex.EncodeToString(b[:])
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(base)
		u.Path = "/" + name
		db, _, err := ticket.Open(context.Background(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			db.Close()
			admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
			admin.Close()
		})
		return db
	}
	return m
}

// apiFixture: Jeanne at 0690026D with a ticket; Eve at another school with one that
// carries an internal note; an agent; each with a token.
type apiFixture struct {
	h                  http.Handler
	svc                *ticket.Service
	agent, jeanne, eve string // tokens
	jeanneKey, eveKey  string
}

func newAPIFixture(t *testing.T, db *sqlx.DB) *apiFixture {
	t.Helper()
	ctx := context.Background()
	if _, err := ticket.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	svc, err := ticket.NewService(ctx, db, ticket.Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	must := func(u ticket.User, err error) ticket.User {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	agent := must(svc.AddUser(ctx, ticket.NewUser{Email: "alice@support.test", Name: "Alice", Role: ticket.RoleAgent}))
	jeanne := must(svc.AddUser(ctx, ticket.NewUser{Email: "jeanne@ecole.test", UAI: "0690026D"}))
	eve := must(svc.AddUser(ctx, ticket.NewUser{Email: "eve@ailleurs.test", UAI: "0380002W"}))
	f := &apiFixture{svc: svc}
	for _, c := range []struct {
		u   ticket.User
		dst *string
	}{{agent, &f.agent}, {jeanne, &f.jeanne}, {eve, &f.eve}} {
		if *c.dst, err = svc.CreateToken(ctx, c.u, "test"); err != nil {
			t.Fatal(err)
		}
	}
	tj, err := svc.CreateTicket(ctx, jeanne, ticket.TicketRequest{NewTicket: ticket.NewTicket{Summary: "Wifi en panne", Description: "Salle 12", RequestType: "Incident"}})
	if err != nil {
		t.Fatal(err)
	}
	te, err := svc.CreateTicket(ctx, eve, ticket.TicketRequest{NewTicket: ticket.NewTicket{Summary: "Imprimante", Description: "Bourrage"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddComment(ctx, agent, te.Key, ticket.CommentInput{Body: "secret interne", Visibility: ticket.Internal}); err != nil {
		t.Fatal(err)
	}
	f.jeanneKey, f.eveKey = tj.Key, te.Key
	f.h = New(Options{Tickets: svc})
	return f
}

// do sends one API request with token (none when ""), and decodes a JSON answer.
func (f *apiFixture) do(t *testing.T, token, method, path string, body any, hdr ...string) (int, map[string]any, *httptest.ResponseRecorder) {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	r := httptest.NewRequest(method, path, rd)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	var m map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: bad JSON %q", method, path, rec.Body.String())
		}
	}
	return rec.Code, m, rec
}

func TestAPIAuth(t *testing.T) {
	f := newAPIFixture(t, apiStores(t)["sqlite"](t))
	for _, c := range []struct{ name, auth string }{
		{"no header", ""}, {"basic", "Basic YTpi"}, {"empty bearer", "Bearer "}, {"unknown token", "Bearer gch_nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/tickets", nil)
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, r)
			if rec.Code != 401 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%d %q %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
			}
		})
	}
	// Every route needs the token.
	for _, rt := range [][2]string{{"POST", "/api/v1/tickets"}, {"GET", "/api/v1/tickets/" + f.jeanneKey},
		{"POST", "/api/v1/tickets/" + f.jeanneKey + "/comments"}, {"POST", "/api/v1/tickets/" + f.jeanneKey + "/status"}} {
		if code, _, _ := f.do(t, "", rt[0], rt[1], "{}"); code != 401 {
			t.Errorf("%s %s without token: %d", rt[0], rt[1], code)
		}
	}
	if code, m, _ := f.do(t, f.jeanne, "GET", "/api/v1/nothing", nil); code != 404 || m["error"] == nil {
		t.Errorf("unknown route: %d %v", code, m)
	}
}

func keysIn(m map[string]any) []string {
	var ks []string
	items, _ := m["items"].([]any)
	for _, it := range items {
		ks = append(ks, it.(map[string]any)["key"].(string))
	}
	return ks
}

func TestAPIList(t *testing.T) {
	for name, open := range apiStores(t) {
		t.Run(name, func(t *testing.T) {
			f := newAPIFixture(t, open(t))
			for _, c := range []struct {
				token, query string
				want         []string
			}{
				{f.jeanne, "", []string{f.jeanneKey}},
				{f.eve, "", []string{f.eveKey}},
				{f.agent, "", []string{f.eveKey, f.jeanneKey}},
				{f.agent, "?status=new,closed&limit=1", []string{f.eveKey}},
				{f.agent, "?type=Incident", []string{f.jeanneKey}},
				{f.agent, "?q=secret", []string{f.eveKey}},
				{f.eve, "?q=secret", nil},
				{f.jeanne, "?q=imprimante", nil},
				{f.jeanne, "?scope=establishment", []string{f.jeanneKey}},
				{f.agent, "?scope=unassigned&status=Nouveau", []string{f.eveKey, f.jeanneKey}},
			} {
				code, m, _ := f.do(t, c.token, "GET", "/api/v1/tickets"+c.query, nil)
				if code != 200 || strings.Join(keysIn(m), ",") != strings.Join(c.want, ",") {
					t.Errorf("%s: %d %v, want %v", c.query, code, m, c.want)
				}
			}
			code, m, _ := f.do(t, f.agent, "GET", "/api/v1/tickets?limit=1", nil)
			if code != 200 || m["total"].(float64) != 2 || m["next"] == nil {
				t.Fatalf("first page: %v", m)
			}
			code, m, _ = f.do(t, f.agent, "GET", "/api/v1/tickets?limit=1&cursor="+url.QueryEscape(m["next"].(string)), nil)
			if code != 200 || strings.Join(keysIn(m), ",") != f.jeanneKey || m["from"].(float64) != 2 {
				t.Fatalf("second page: %d %v", code, m)
			}
			for q, field := range map[string]string{"?status=ouvert": "status", "?limit=0": "limit", "?scope=assigned": "scope", "?cursor=xyz": "cursor"} {
				if code, m, _ := f.do(t, f.jeanne, "GET", "/api/v1/tickets"+q, nil); code != 422 || m["field"] != field {
					t.Errorf("%s: %d %v", q, code, m)
				}
			}
		})
	}
}

func TestAPICreate(t *testing.T) {
	for name, open := range apiStores(t) {
		t.Run(name, func(t *testing.T) {
			f := newAPIFixture(t, open(t))
			body := map[string]any{"summary": "Tableau numérique", "description": "Ne s'allume plus", "uai": "0690026d",
				"phone": "04 72 00 00 00", "request_type": "Incident", "participants": []string{"alice@support.test"}}
			code, m, rec := f.do(t, f.jeanne, "POST", "/api/v1/tickets", body, "Idempotency-Key", "k1")
			if code != 201 || m["status"] != "new" || m["status_label"] != "Nouveau" || m["source"] != "web" || m["uai"] != "0690026D" ||
				m["requester"] != "jeanne@ecole.test" || rec.Header().Get("Location") != "/api/v1/tickets/"+m["key"].(string) {
				t.Fatalf("create: %d %v", code, m)
			}
			if ps, _ := m["participants"].([]any); len(ps) != 1 {
				t.Fatalf("participants: %v", m["participants"])
			}
			key := m["key"].(string)
			if _, again, _ := f.do(t, f.jeanne, "POST", "/api/v1/tickets", body, "Idempotency-Key", "k1"); again["key"] != key {
				t.Fatalf("same idempotency key made %v, want %s", again["key"], key)
			}
			evesBody := map[string]any{"summary": "Tableau numérique", "description": "Ne s'allume plus", "uai": "0380002W"}
			if _, other, _ := f.do(t, f.eve, "POST", "/api/v1/tickets", evesBody, "Idempotency-Key", "k1"); other["key"] == key || other["requester"] != "eve@ailleurs.test" {
				t.Fatalf("another user's idempotency key returned %v", other["key"])
			}
			for _, c := range []struct {
				body  any
				code  int
				field string
			}{
				{map[string]any{"description": "x"}, 422, "summary"},
				{map[string]any{"summary": "x"}, 422, "description"},
				{map[string]any{"summary": "x", "description": "y", "uai": "0690026E"}, 422, "uai"},
				{map[string]any{"summary": "x", "description": "y", "participants": []string{"pas une adresse"}}, 422, "participants"},
				{map[string]any{"summary": "x", "description": "y", "colour": "red"}, 400, ""},
				{"not json", 400, ""},
			} {
				code, m, _ := f.do(t, f.jeanne, "POST", "/api/v1/tickets", c.body)
				if code != c.code || (c.field != "" && m["field"] != c.field) {
					t.Errorf("%v: %d %v, want %d %s", c.body, code, m, c.code, c.field)
				}
			}
			// A customer files only for their own establishment; an agent for any.
			_, before, _ := f.do(t, f.agent, "GET", "/api/v1/tickets", nil)
			code, m, _ = f.do(t, f.eve, "POST", "/api/v1/tickets", body)
			if msg, _ := m["error"].(string); code != 403 || m["field"] != "uai" || !strings.Contains(msg, "own establishment") ||
				!strings.Contains(msg, "0380002W") {
				t.Errorf("Eve files into 0690026D: %d %v", code, m)
			}
			if _, after, _ := f.do(t, f.agent, "GET", "/api/v1/tickets", nil); after["total"] != before["total"] {
				t.Errorf("Eve's refused request was created: %v then %v tickets", before["total"], after["total"])
			}
			if code, m, _ := f.do(t, f.agent, "POST", "/api/v1/tickets", body); code != 201 || m["uai"] != "0690026D" {
				t.Errorf("agent files for 0690026D: %d %v", code, m)
			}
		})
	}
}

func TestAPIGetCommentStatus(t *testing.T) {
	for name, open := range apiStores(t) {
		t.Run(name, func(t *testing.T) {
			f := newAPIFixture(t, open(t))
			// Another establishment's ticket answers exactly as a missing one.
			_, _, forbidden := f.do(t, f.jeanne, "GET", "/api/v1/tickets/"+f.eveKey, nil)
			_, _, missing := f.do(t, f.jeanne, "GET", "/api/v1/tickets/AURAN1-999", nil)
			if forbidden.Code != 404 || missing.Code != 404 || forbidden.Body.String() != missing.Body.String() {
				t.Fatalf("forbidden %d %q, missing %d %q", forbidden.Code, forbidden.Body, missing.Code, missing.Body)
			}
			code, m, _ := f.do(t, f.eve, "GET", "/api/v1/tickets/"+f.eveKey, nil)
			if cs, _ := m["comments"].([]any); code != 200 || len(cs) != 0 || strings.Contains(mustJSON(m), "secret interne") {
				t.Fatalf("customer sees internal notes: %d %v", code, m)
			}
			code, m, _ = f.do(t, f.agent, "GET", "/api/v1/tickets/"+strings.ToLower(f.eveKey), nil)
			if cs, _ := m["comments"].([]any); code != 200 || len(cs) != 1 {
				t.Fatalf("agent: %d %v", code, m)
			}
			for _, k := range []string{"key", "summary", "description", "status", "status_label", "requester", "participants", "uai", "source", "created_at", "comments", "attachments"} {
				if _, ok := m[k]; !ok {
					t.Errorf("detail lacks %q", k)
				}
			}

			comments := "/api/v1/tickets/" + f.jeanneKey + "/comments"
			for _, c := range []struct {
				token, path string
				body        any
				code        int
			}{
				{f.jeanne, comments, map[string]any{"body": "Toujours en panne"}, 201},
				{f.jeanne, comments, map[string]any{"body": "note", "visibility": "internal"}, 403},
				{f.jeanne, comments, map[string]any{"body": "x", "visibility": "secret"}, 422},
				{f.jeanne, comments, map[string]any{"body": "  "}, 422},
				{f.eve, comments, map[string]any{"body": "intrusion"}, 404},
				{f.jeanne, "/api/v1/tickets/AURAN1-999/comments", map[string]any{"body": "x"}, 404},
				{f.agent, comments, map[string]any{"body": "Vérifiez la borne", "visibility": "internal"}, 201},
			} {
				if code, m, _ := f.do(t, c.token, "POST", c.path, c.body); code != c.code {
					t.Errorf("comment %v: %d %v, want %d", c.body, code, m, c.code)
				}
			}
			code, m, _ = f.do(t, f.jeanne, "GET", "/api/v1/tickets/"+f.jeanneKey, nil)
			if cs, _ := m["comments"].([]any); len(cs) != 1 {
				t.Fatalf("jeanne's comments: %v", m["comments"])
			}

			status := "/api/v1/tickets/" + f.jeanneKey + "/status"
			for _, c := range []struct {
				token, path, status string
				code                int
			}{
				{f.jeanne, status, "in_progress", 403},
				{f.eve, status, "closed", 404},
				{f.agent, status, "bientôt", 422},
				{f.agent, status, "En attente", 200},
				{f.jeanne, status, "closed", 200},
				{f.agent, "/api/v1/tickets/AURAN1-999/status", "closed", 404},
			} {
				code, m, _ := f.do(t, c.token, "POST", c.path, map[string]string{"status": c.status})
				if code != c.code {
					t.Errorf("status %s by %s: %d %v, want %d", c.status, c.token[:8], code, m, c.code)
				}
				if code == 200 && m["status"] != string(map[string]ticket.Status{"En attente": ticket.StatusWaiting, "closed": ticket.StatusClosed}[c.status]) {
					t.Errorf("status after %s: %v", c.status, m["status"])
				}
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// failingTickets fails every call after authentication with an internal error.
type failingTickets struct{ Tickets }

func (failingTickets) TokenUser(context.Context, string) (ticket.User, error) {
	return ticket.User{ID: 1, Role: ticket.RoleCustomer}, nil
}
func (failingTickets) Search(context.Context, ticket.User, ticket.Filter) (ticket.Page, error) {
	return ticket.Page{}, errors.New("pq: relation secret_table does not exist")
}

func TestAPIInternalError(t *testing.T) {
	h := New(Options{Tickets: failingTickets{}})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/v1/tickets", nil)
	r.Header.Set("Authorization", "Bearer gch_x")
	h.ServeHTTP(rec, r)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret_table") || !strings.Contains(rec.Body.String(), "internal error") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
