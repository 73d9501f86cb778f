package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/guichet/guichet/ticket"
)

// axeTags are the axe-core rules the portal must pass: WCAG 2.0 and 2.1, levels A and AA,
// which RGAA 4 follows.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// loadAxe reads axe-core's script named by GUICHET_TEST_AXE; "" (and a message) when it
// is unset: the browser tests then run without the accessibility checks.
func loadAxe(t *testing.T) string {
	t.Helper()
	path := os.Getenv("GUICHET_TEST_AXE")
	if path == "" {
		t.Log(`GUICHET_TEST_AXE unset: axe-core accessibility checks skipped, the rest of the test runs (eval "$(.ci/axe.sh)" installs axe-core and sets it)`)
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("GUICHET_TEST_AXE: %v", err)
	}
	return string(b)
}

// axeViolation is one rule that failed, as axe.run reports it.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         json.RawMessage `json:"target"`
		HTML           string          `json:"html"`
		FailureSummary string          `json:"failureSummary"`
	} `json:"nodes"`
}

// axeRun runs axe-core on the page shown and returns the violations.
func (b *browser) axeRun() ([]axeViolation, error) {
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`typeof axe === "object" || (function(){`+b.axe+`
;return true})()`)); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	tags, _ := json.Marshal(axeTags)
	js := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]})
		.then(r => JSON.stringify(r.violations))`
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var v []axeViolation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("axe-core's answer: %w", err)
	}
	return v, nil
}

// checkA11y fails the test for each axe-core violation on the page shown, with the rule,
// its impact, the elements (CSS targets) and the rule's help page.
func (b *browser) checkA11y(name string) {
	b.t.Helper()
	if b.axe == "" {
		return
	}
	v, err := b.axeRun()
	if err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	b.axeChecked++
	for _, x := range v {
		var nodes []string
		for _, n := range x.Nodes {
			nodes = append(nodes, fmt.Sprintf("\n\t\ttarget %s: %s\n\t\t\t%s", n.Target, n.HTML, strings.ReplaceAll(n.FailureSummary, "\n", "\n\t\t\t")))
		}
		b.t.Errorf("axe %s (%s) on %s [%s]: %s — %s%s", x.ID, x.Impact, name, b.location(), x.Help, x.HelpURL, strings.Join(nodes, ""))
	}
}

// TestBrowserAxeFinds: the axe-core run reports what it must on a page made wrong on
// purpose (no lang, an image without text, a field without label, grey on grey), so a
// clean portal page means something.
func TestBrowserAxeFinds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>x</title></head><body><main>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input type="text" name="q">
<p style="color:#aaa;background:#bbb">pâle</p></main></body></html>`)
	}))
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	if b.axe == "" {
		t.Skip(`GUICHET_TEST_AXE unset: axe-core not installed (eval "$(.ci/axe.sh)")`)
	}
	b.open("/")
	v, err := b.axeRun()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, x := range v {
		found[x.ID] = true
	}
	for _, id := range []string{"html-has-lang", "image-alt", "label", "color-contrast"} {
		if !found[id] {
			t.Errorf("axe-core did not report %s (reported %v)", id, found)
		}
	}
}

// acceptLanguage makes the browser ask for lang (the signed-out pages follow it).
func (b *browser) acceptLanguage(lang string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": lang}})
		return err
	}))
}

// checkPage checks the page shown: in lang, one h1, the footer's link to the
// accessibility statement, nothing wider than the screen, and axe-core's rules; shoot
// keeps a screenshot too.
func (b *browser) checkPage(name, lang string, shoot bool) {
	b.t.Helper()
	got := b.eval(`document.documentElement.lang + "|" + document.querySelectorAll("h1").length + "|" +
		document.querySelectorAll("footer a[href='/accessibility']").length`)
	if want := lang + "|1|1"; got != want {
		b.t.Errorf("%s [%s]: lang|h1s|statement links = %s, want %s", name, b.location(), got, want)
	}
	// Reflow (WCAG 1.4.10): nothing scrolls sideways, neither the page nor a table, but
	// a table of figures (two dimensions, which 1.4.10 exempts) in a named region that
	// the keyboard can reach and scroll.
	wide := b.eval(`[document.documentElement, ...document.querySelectorAll(".table-wrap:not([tabindex='0'][role=region][aria-labelledby])")]
		.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className || e.tagName).join(" ")`)
	if wide != "" {
		b.t.Errorf("%s [%s]: scrolls sideways: %s", name, b.location(), wide)
	}
	if shoot {
		b.shot(name) // runs axe-core first
	} else {
		b.checkA11y(name)
	}
}

// TestBrowserAccessibility opens every page of the portal, for a customer and an agent,
// in French and English, at desktop width and on a 390 px phone, forms with their errors
// included, and checks each with axe-core (WCAG 2.0/2.1 A and AA): zero violations.
// Screenshots are kept for the French pages.
func TestBrowserAccessibility(t *testing.T) {
	f := newPortal(t, Options{Brand: Brand{Phone: "04 26 73 64 64"}})
	ctx := context.Background()
	// Jeanne's ticket gets a participant, an agent's answer with a file, a status change.
	if err := f.svc.AddParticipant(ctx, f.users["jeanne"], f.jeanneKey, ticket.Address{Email: "paul@ecole.test"}); err != nil {
		t.Fatal(err)
	}
	sum, n, err := f.blobs.PutBlob(ctx, strings.NewReader("journal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddComment(ctx, f.users["alice"], f.jeanneKey, ticket.CommentInput{Body: "Pouvez-vous redémarrer la borne ?",
		Attachments: []ticket.Attachment{{Filename: "procedure.txt", ContentType: "text/plain", Size: n, SHA256: sum}}}); err != nil {
		t.Fatal(err)
	}
	// A closed request of Jeanne's, with its satisfaction link.
	closed, err := f.svc.CreateTicket(ctx, f.users["jeanne"], ticket.TicketRequest{NewTicket: ticket.NewTicket{
		Summary: "Imprimante réparée", Description: "Bourrage", UAI: "0690026D"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChangeStatus(ctx, f.users["alice"], closed.Key, ticket.StatusClosed); err != nil {
		t.Fatal(err)
	}
	ratings, err := f.svc.RatingsOf(ctx, f.users["jeanne"], closed.Key)
	if err != nil || ratings.RateURL == "" {
		t.Fatalf("no rating link: %v", err)
	}
	rate, _ := url.Parse(ratings.RateURL)
	// A message that failed, for the agents' table of failed mail.
	if _, err := f.svc.Accept(ctx, ticket.Delivery{Raw: []byte("From: x@y.test\r\nSubject: s\r\n\r\nbody\r\n"),
		Env:      ticket.Envelope{From: "parent.d.eleve.avec.une.longue.adresse@exemple-de-domaine.test", Channel: "smtp"},
		ParseErr: errors.New("unreadable MIME")}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	b := newBrowserFor(t, srv.URL, 10*time.Minute)
	stop, _ := url.Parse(f.svc.StopLink(f.jeanneKey, "jeanne@ecole.test"))

	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		b.do(chromedp.EmulateViewport(size.w, size.h))
		for _, lang := range []string{"fr", "en"} {
			shoot := lang == "fr"
			page := func(name string) { b.t.Helper(); b.checkPage(name+"-"+lang+"-"+size.name, lang, shoot) }
			b.acceptLanguage(lang)
			f.clock.Advance(25 * time.Hour) // the sign-in limits forget the previous round

			// Signed out (pages reached by a mailed link speak Jeanne's language).
			f.setLang(t, "jeanne", lang)
			b.open("/login?next=%2Frequests")
			page("login")
			b.set("#login-email", "jeanne@ecole.test")
			b.set("#login-password", "pas le bon")
			b.submit("form[action='/login'] button[type=submit]")
			page("login-error")
			b.set("#link-email", "jeanne@ecole.test")
			b.submit("form[action='/login/link'] button[type=submit]")
			page("login-link-sent")
			links := f.outboxLinks(t, ticket.MailSignIn, "jeanne@ecole.test")
			if len(links) == 0 {
				t.Fatal("no sign-in link mailed")
			}
			u, _ := url.Parse(links[len(links)-1])
			b.open(u.RequestURI())
			page("login-link")
			b.open(stop.RequestURI())
			page("stop")
			b.open(rate.RequestURI() + "&n=4")
			page("satisfaction")
			b.submit("form[action$='/satisfaction'] button[type=submit]")
			page("satisfaction-saved")
			b.open("/accessibility")
			page("accessibility-signed-out")
			b.open("/nulle-part")
			page("not-found-signed-out")

			// A customer.
			b.login("jeanne@ecole.test")
			b.open("/")
			page("home")
			b.open("/requests/new")
			page("request-form")
			b.set("#f-uai", "0690026E")
			b.set("#f-url", "pas une adresse")
			b.submit("form.request-form button[type=submit]")
			page("request-form-errors")
			b.open("/requests")
			page("list")
			b.open("/requests?scope=establishment&status=new&type=Incident&q=wifi")
			page("list-filtered")
			b.open("/requests?scope=mine&q=introuvable")
			page("list-empty")
			b.open("/requests/" + f.jeanneKey)
			page("ticket")
			b.submit("form[action$='/comments'] button[type=submit]")
			page("ticket-comment-error")
			b.set("#participant-email", "eve@ailleurs.test")
			b.submit("form[action$='/participants'] button[type=submit]")
			page("ticket-participant-error")
			// A status change a customer may not make: the 403 page.
			b.eval(`(function(){const f=document.createElement("form");f.method="post";f.id="forbidden";
				f.action=location.pathname+"/status";f.innerHTML='<input name="status" value="in_progress"><button type="submit">x</button>';
				document.body.appendChild(f);return ""})()`)
			b.submit("#forbidden button")
			page("forbidden")
			b.open("/requests/" + closed.Key)
			page("ticket-closed")
			b.open("/requests/" + f.eveKey)
			page("not-found")
			b.open("/profile")
			page("profile")
			b.set("#p-new", "un mot de passe")
			b.set("#p-confirm", "un autre")
			b.submit("form[action='/profile/password'] button[type=submit]")
			page("profile-errors")
			b.set("#p-token-name", "Tableur "+lang+" "+size.name)
			b.submit("form[action='/profile/tokens'] button[type=submit]")
			page("profile-token")
			b.set("#p-notify", "jeanne."+lang+"."+size.name+"@ecole.test")
			b.submit("form[action='/profile/notify'] button[type=submit]")
			page("profile-notify-pending")
			confirm := f.outboxLinks(t, ticket.MailConfirmAddress, "jeanne."+lang+"."+size.name+"@ecole.test")
			if len(confirm) == 0 {
				t.Fatal("no confirmation link mailed")
			}
			cu, _ := url.Parse(confirm[0])
			b.open(cu.RequestURI())
			page("profile-confirm")
			b.open("/accessibility")
			page("accessibility")
			b.submit("form[action='/logout'] button")

			// An agent.
			f.setLang(t, "alice", lang)
			b.login("alice@support.test")
			b.open("/")
			page("agent-home")
			b.open("/requests?scope=unassigned")
			page("agent-list")
			b.open("/requests/" + f.eveKey)
			page("agent-ticket")
			b.open("/agent/phone")
			page("agent-phone")
			b.set("#f-caller-email", "pas une adresse")
			b.submit("form.request-form button[type=submit]")
			page("agent-phone-errors")
			b.open("/agent/dashboard")
			page("agent-dashboard")
			b.open("/agent/satisfaction")
			page("agent-satisfaction")
			b.open("/agent/replies")
			page("agent-replies")
			b.set("#r-name", "pas valide !")
			b.set("#r-body-fr", "Bonjour {prenom},")
			b.submit("form[action='/agent/replies'] button[type=submit]")
			page("agent-replies-errors")
			b.set("#r-name", "accueil")
			b.submit("form[action='/agent/replies'] button[type=submit]")
			page("agent-replies-saved")
			b.open("/agent/replies/accueil")
			page("agent-reply-edit")
			b.open("/agent/held")
			page("agent-held")
			b.open("/agent/failed")
			page("agent-failed")
			b.open("/profile")
			page("agent-profile")
			b.open("/nulle-part")
			page("agent-not-found")
			b.submit("form[action='/logout'] button")
		}
	}
	if b.axe != "" {
		t.Logf("axe-core checked %d pages", b.axeChecked)
	}
}
