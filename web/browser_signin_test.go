package web

import (
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/guichet/guichet/ticket"
)

// clickLabel clicks the button with that visible label and waits for the next page.
func (b *browser) clickLabel(label string) {
	b.t.Helper()
	js := `[...document.querySelectorAll("button")].find(e => e.textContent.trim() === ` + strconv.Quote(label) + `)`
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.JSPath(js))); err != nil {
		b.t.Fatalf("press %q: %v", label, err)
	}
}

// TestBrowserSignInLink: signed out, a page sends to sign-in; the person asks for a link
// by mail; opening it (as a mail scanner would, first) signs no one in and spends
// nothing; the "Me connecter" ("Sign me in") button signs in and opens the page first asked for; the
// same link once more is refused. Headless Chromium asks for English, so the signed-out
// pages are in English; Jeanne's own pages are in French, her language.
func TestBrowserSignInLink(t *testing.T) {
	f := newPortal(t, Options{})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	b := newBrowser(t, srv.URL)

	b.open("/requests")
	if loc := b.location(); !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("not sent to sign-in: %s", loc)
	}
	b.set("#link-email", "jeanne@ecole.test")
	b.clickLabel("Send me a sign-in link")
	b.mustContain("link asked", "If this address is known")
	links := f.outboxLinks(t, ticket.MailSignIn, "jeanne@ecole.test")
	if len(links) != 1 {
		t.Fatalf("sign-in mails: %v", links)
	}
	u, _ := url.Parse(links[0])
	if u.Query().Get("next") != "/requests" {
		t.Errorf("the link lost the page asked for: %s", links[0])
	}
	// A mail scanner's visit: no cookie, nothing spent.
	scan := f.do(t, nil, "GET", u.RequestURI(), nil)
	if scan.Code != 200 || len(scan.Result().Cookies()) != 0 {
		t.Fatalf("scanner's GET: %d", scan.Code)
	}
	b.open(u.RequestURI())
	b.mustContain("link page", "To finish signing in")
	b.shot("signin-link")
	b.clickLabel("Sign me in")
	if loc := b.location(); loc != "/requests" {
		t.Fatalf("after the link: %s", loc)
	}
	b.mustContain("list", "Wifi en panne")
	b.open("/")
	b.clickLabel("Se déconnecter")
	b.open(u.RequestURI())
	b.clickLabel("Sign me in")
	b.mustContain("spent link", "This sign-in link is no longer valid")
}
