package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

func TestSecurityHeaders(t *testing.T) {
	f := newPortal(t, Options{})
	for _, path := range []string{"/login", "/static/style.css", "/static/app.js", "/static/favicon.svg", "/healthz"} {
		w := f.do(t, nil, "GET", path, nil)
		if w.Code != 200 {
			t.Errorf("%s: %d", path, w.Code)
		}
		h := w.Header()
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	body := f.do(t, nil, "GET", "/login", nil).Body.String()
	for _, remote := range []string{"http://", "https://", "//cdn", "style=", "<script>"} {
		if strings.Contains(body, remote) {
			t.Errorf("login page has %q", remote)
		}
	}
}

// TestSessionRequired: every page but the open ones sends to sign-in, and back.
func TestSessionRequired(t *testing.T) {
	f := newPortal(t, Options{})
	for _, path := range []string{
		"/requests", "/requests/new", "/requests/" + f.jeanneKey, "/requests/" + f.jeanneKey + "/attachments/" + f.jeanneFile,
		"/", "/profile", "/profile/avatar", "/profile/confirm?t=x", "/agent/phone", "/agent/held", "/agent/failed", "/inbound/1/raw",
	} {
		w := f.do(t, nil, "GET", path, nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Header().Get("Location"))
		}
	}
	for _, path := range []string{
		"/requests/new", "/requests/" + f.jeanneKey + "/comments", "/requests/" + f.jeanneKey + "/participants",
		"/requests/" + f.jeanneKey + "/participants/remove", "/requests/" + f.jeanneKey + "/status",
		"/requests/" + f.jeanneKey + "/assign", "/profile", "/profile/avatar", "/profile/password", "/profile/notify",
		"/profile/tokens", "/profile/tokens/1/revoke", "/agent/phone",
	} {
		if w := f.do(t, nil, "POST", path, url.Values{"x": {"1"}}); w.Code != http.StatusUnauthorized {
			t.Errorf("POST %s: %d", path, w.Code)
		}
	}
	// A notification link: sign in, then back to the ticket.
	w := f.do(t, nil, "POST", "/login", url.Values{"email": {"jeanne@ecole.test"}, "password": {testPassword},
		"next": {"/requests/" + f.jeanneKey}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/requests/"+f.jeanneKey {
		t.Fatalf("login with next: %d %q", w.Code, w.Header().Get("Location"))
	}
	for _, bad := range []string{"https://evil.test/", "//evil.test", "/\\evil.test"} {
		w := f.do(t, nil, "POST", "/login", url.Values{"email": {"jeanne@ecole.test"}, "password": {testPassword}, "next": {bad}})
		if w.Header().Get("Location") != "/" {
			t.Errorf("next %q: redirected to %q", bad, w.Header().Get("Location"))
		}
	}
}

func TestLoginAndLogout(t *testing.T) {
	f := newPortal(t, Options{PublicURL: "https://guichet.test"})
	w := f.do(t, nil, "POST", "/login", url.Values{"email": {"jeanne@ecole.test"}, "password": {"faux"}})
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Adresse ou mot de passe incorrect") ||
		!strings.Contains(w.Body.String(), `value="jeanne@ecole.test"`) {
		t.Fatalf("bad password: %d %s", w.Code, w.Body)
	}
	c := f.login(t, "jeanne")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("cookie %+v", c)
	}
	home := f.do(t, c, "GET", "/", nil).Body.String()
	for _, want := range []string{`href="/requests/new"`, `href="/requests"`, `href="/profile"`, `action="/logout"`, "Nouvelle demande", "Demandes", "Profil", "Se déconnecter"} {
		if !strings.Contains(home, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if anon := f.do(t, nil, "GET", "/", nil); anon.Code != http.StatusSeeOther || anon.Header().Get("Location") != "/login?next=%2F" {
		t.Errorf("signed-out home: %d %s", anon.Code, anon.Header().Get("Location"))
	}
	if login := f.do(t, nil, "GET", "/login", nil).Body.String(); !strings.Contains(login, `href="/login"`) || strings.Contains(login, "/logout") {
		t.Error("signed-out pages should offer sign-in only")
	}
	if w := f.do(t, c, "POST", "/logout", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := f.do(t, c, "GET", "/profile", nil); w.Code != http.StatusSeeOther {
		t.Errorf("session still works after logout: %d", w.Code)
	}
	// Plain http: the cookie is not Secure (it would not come back).
	if c := newPortal(t, Options{PublicURL: "http://127.0.0.1:8080"}).login(t, "jeanne"); c.Secure {
		t.Error("Secure cookie over http")
	}
}

func TestSignInLink(t *testing.T) {
	f := newPortal(t, Options{})
	known := f.do(t, nil, "POST", "/login/link", url.Values{"email": {"jeanne@ecole.test"}})
	unknown := f.do(t, nil, "POST", "/login/link", url.Values{"email": {"nobody@ecole.test"}})
	if known.Code != 200 || known.Body.String() != unknown.Body.String() {
		t.Fatalf("known and unknown addresses must get the same answer: %d / %d", known.Code, unknown.Code)
	}
	links := f.outboxLinks(t, ticket.MailSignIn, "jeanne@ecole.test")
	if len(links) != 1 {
		t.Fatalf("sign-in mails: %v", links)
	}
	u, _ := url.Parse(links[0])
	w := f.do(t, nil, "GET", u.RequestURI(), nil)
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) == 0 {
		t.Fatalf("link: %d", w.Code)
	}
	if w := f.do(t, w.Result().Cookies()[0], "GET", "/profile", nil); w.Code != 200 {
		t.Errorf("session from link: %d", w.Code)
	}
	if w := f.do(t, nil, "GET", u.RequestURI(), nil); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "plus valable") {
		t.Errorf("second use: %d", w.Code)
	}
}

// TestCrossOrigin: state-changing routes refuse cross-origin browser requests.
func TestCrossOrigin(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	form := url.Values{"body": {"commentaire forgé"}}
	for name, hdr := range map[string][]string{
		"sec-fetch-site": {"Sec-Fetch-Site", "cross-site"},
		"origin":         {"Origin", "https://evil.test"},
	} {
		t.Run(name, func(t *testing.T) {
			w := f.do(t, c, "POST", "/requests/"+f.jeanneKey+"/comments", form, hdr...)
			if w.Code != http.StatusForbidden {
				t.Fatalf("cross-origin POST: %d", w.Code)
			}
			if w := f.do(t, nil, "POST", "/login", url.Values{"email": {"jeanne@ecole.test"}, "password": {testPassword}}, hdr...); w.Code != http.StatusForbidden {
				t.Errorf("cross-origin login: %d", w.Code)
			}
		})
	}
	d, _ := f.svc.DetailFor(t.Context(), f.users["jeanne"], f.jeanneKey)
	if len(d.Comments) != 0 {
		t.Fatal("a cross-origin comment was added")
	}
	w := f.do(t, c, "POST", "/requests/"+f.jeanneKey+"/comments", form, "Sec-Fetch-Site", "same-origin", "Origin", "http://example.com")
	if w.Code != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d", w.Code)
	}
}
