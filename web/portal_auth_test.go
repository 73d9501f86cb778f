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

// TestSignInLink: the mailed link's GET (as a mail scanner opens it) shows a button and
// spends nothing; the button's POST signs in, once, and goes to the page asked for.
func TestSignInLink(t *testing.T) {
	f := newPortal(t, Options{})
	next := "/requests/" + f.jeanneKey + "?x=1"
	known := f.do(t, nil, "POST", "/login/link", url.Values{"email": {"jeanne@ecole.test"}, "next": {next}})
	unknown := f.do(t, nil, "POST", "/login/link", url.Values{"email": {"nobody@ecole.test"}, "next": {next}})
	if known.Code != 200 || known.Body.String() != unknown.Body.String() {
		t.Fatalf("known and unknown addresses must get the same answer: %d / %d", known.Code, unknown.Code)
	}
	links := f.outboxLinks(t, ticket.MailSignIn, "jeanne@ecole.test")
	if len(links) != 1 {
		t.Fatalf("sign-in mails: %v", links)
	}
	u, _ := url.Parse(links[0])
	if u.Query().Get("next") != next {
		t.Fatalf("link lost next: %s", links[0])
	}
	for i := range 2 {
		w := f.do(t, nil, "GET", u.RequestURI(), nil)
		body := w.Body.String()
		if w.Code != 200 || len(w.Result().Cookies()) != 0 || !strings.Contains(body, `action="/login/link/use"`) ||
			!strings.Contains(body, "Me connecter") || !strings.Contains(body, `value="`+u.Query().Get("t")+`"`) ||
			!strings.Contains(body, `name="next" value="/requests/`+f.jeanneKey+`?x=1"`) {
			t.Fatalf("GET %d of the link: %d %s", i, w.Code, body)
		}
	}
	if en := f.do(t, nil, "GET", u.RequestURI(), nil, "Accept-Language", "en-GB,en;q=0.9,fr;q=0.5").Body.String(); !strings.Contains(en, "Sign me in") {
		t.Errorf("English page: %s", en)
	}
	use := url.Values{"t": {u.Query().Get("t")}, "next": {next}}
	w := f.do(t, nil, "POST", "/login/link/use", use)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != next || len(w.Result().Cookies()) == 0 {
		t.Fatalf("POST of the link: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := f.do(t, w.Result().Cookies()[0], "GET", "/profile", nil); w.Code != 200 {
		t.Errorf("session from link: %d", w.Code)
	}
	if w := f.do(t, nil, "POST", "/login/link/use", use); w.Code != http.StatusNotFound ||
		!strings.Contains(w.Body.String(), "plus valable") || len(w.Result().Cookies()) != 0 {
		t.Errorf("second use: %d", w.Code)
	}
	if w := f.do(t, nil, "POST", "/login/link/use", use, "Sec-Fetch-Site", "cross-site"); w.Code != http.StatusForbidden {
		t.Errorf("cross-site POST of the link: %d", w.Code)
	}
}

// TestSignInLinkHostileNext: next, in the request, the mailed link or the POST, never
// leaves the site.
func TestSignInLinkHostileNext(t *testing.T) {
	hostile := []string{
		"https://evil.test/", "http:/evil.test", "//evil.test", "///evil.test", "/\\evil.test", "\\\\evil.test",
		"/a\\b", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "evil.test", "/\t/evil.test",
		"/\n/evil.test", "/\r\nLocation: https://evil.test", "/\x00/evil.test", "/ /evil.test", "/\x7f", "/\xff",
		"/" + strings.Repeat("a", 5000), "",
	}
	for _, bad := range hostile {
		if got := safeNext(bad); got != "/" {
			t.Errorf("safeNext(%q) = %q", bad, got)
		}
	}
	for _, good := range []string{"/", "/requests/ABC-1", "/requests?status=open&q=%C3%A9", "/requests/ABC-1#c3"} {
		if got := safeNext(good); got != good {
			t.Errorf("safeNext(%q) = %q", good, got)
		}
	}

	f := newPortal(t, Options{})
	// Three links: the free ones of an address (SignInLimits.LinkAccount).
	for i, bad := range []string{"https://evil.test/", "//evil.test", "/\t/evil.test"} {
		f.do(t, nil, "POST", "/login/link", url.Values{"email": {"jeanne@ecole.test"}, "next": {bad}})
		links := f.outboxLinks(t, ticket.MailSignIn, "jeanne@ecole.test")
		if len(links) != 1 {
			t.Fatalf("%d: sign-in mails: %v", i, links)
		}
		u, _ := url.Parse(links[0])
		if n, ok := u.Query()["next"]; ok {
			t.Errorf("next %q mailed as %q", bad, n)
		}
		// A link whose next was tampered with: the page and the POST keep "/".
		q := u.Query()
		q.Set("next", bad)
		if body := f.do(t, nil, "GET", "/login/link?"+q.Encode(), nil).Body.String(); !strings.Contains(body, `name="next" value="/"`) {
			t.Errorf("next %q shown on the page", bad)
		}
		w := f.do(t, nil, "POST", "/login/link/use", url.Values{"t": {q.Get("t")}, "next": {bad}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
			t.Errorf("next %q: %d %q", bad, w.Code, w.Header().Get("Location"))
		}
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
