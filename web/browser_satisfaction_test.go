package web

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/guichet/guichet/ticket"
)

// byLabel is the CSS selector of the form control that the label with that visible text
// (up to its "(…)" mark) names.
func (b *browser) byLabel(label string) string {
	b.t.Helper()
	id := b.eval(`(function(){const l=[...document.querySelectorAll("label")].find(e => e.textContent.trim().split(" (")[0] === ` +
		strconv.Quote(label) + `); return l ? l.htmlFor : ""})()`)
	if id == "" {
		b.t.Fatalf("no field labelled %q", label)
	}
	return "#" + id
}

// clickLink follows the link with that visible text.
func (b *browser) clickLink(text string) {
	b.t.Helper()
	js := `[...document.querySelectorAll("a")].find(e => e.textContent.trim() === ` + strconv.Quote(text) + `)`
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.JSPath(js))); err != nil {
		b.t.Fatalf("follow %q: %v", text, err)
	}
}

// TestBrowserSatisfaction: the requester follows an answer's link of the closing mail,
// finds it checked, picks another answer and types a comment by their labels, saves; the
// agent finds the rating through "Satisfaction" in the navigation. axe-core checks the
// pages when installed.
func TestBrowserSatisfaction(t *testing.T) {
	f := newPortal(t, Options{})
	ctx := context.Background()
	if err := f.svc.ChangeStatus(ctx, f.users["alice"], f.jeanneKey, ticket.StatusClosed); err != nil {
		t.Fatal(err)
	}
	ms, err := f.svc.ClaimOutbox(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var link string
	for _, m := range ms {
		if m.Kind == ticket.MailStatus && m.To.Email == "jeanne@ecole.test" {
			link = m.Data.RatingURL
		}
	}
	if link == "" {
		t.Fatal("the closing mail carries no rating link")
	}
	u, _ := url.Parse(link + "&n=4")
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	b.acceptLanguage("fr")

	b.open(u.RequestURI())
	b.mustContain("rating page", "Êtes-vous satisfait(e) de la réponse apportée à votre demande ?", "Wifi en panne")
	if got := b.eval(`document.querySelector("input[name=score]:checked").labels[0].textContent`); got != "Satisfait(e)" {
		t.Errorf("preselected answer: %q", got)
	}
	if got := b.eval(`document.querySelector("fieldset#rating-score legend").textContent`); !strings.HasPrefix(got, "Êtes-vous satisfait(e)") {
		t.Errorf("the radio group's legend: %q", got)
	}
	b.shot("rating-form")
	b.do(chromedp.Click(chromedp.CSS(b.byLabel("Très satisfait(e)"))))
	b.set(b.byLabel("Commentaire"), "Réponse rapide et claire.")
	b.clickLabel("Enregistrer mon avis")
	b.mustContain("rating saved", "Merci ! Votre avis est enregistré.")
	b.shot("rating-saved")
	rs, err := f.svc.RatingsOf(ctx, f.users["alice"], f.jeanneKey)
	if err != nil || len(rs.Ratings) != 1 || rs.Ratings[0].Score != 5 || rs.Ratings[0].Comment != "Réponse rapide et claire." {
		t.Fatalf("recorded: %+v %v", rs, err)
	}

	// The requester finds her rating on the request's page, and the link to change it.
	b.login("jeanne@ecole.test")
	b.open("/requests/" + f.jeanneKey)
	b.mustContain("requester's ticket page", "Satisfaction", "Très satisfait(e)", "Réponse rapide et claire.", "Modifier mon avis")
	b.shot("ticket-rating-requester")
	b.submit("form[action='/logout'] button")

	b.login("alice@support.test")
	b.open("/agent/dashboard")
	b.mustContain("dashboard", "Satisfaction moyenne", "5,0 / 5")
	b.shot("dashboard-satisfaction")
	b.open("/")
	b.clickLink("Satisfaction")
	b.mustContain("report", "Satisfaction des demandeurs", "Par service", "Par agent", "Alice Agent", "5,0 / 5", "Réponse rapide et claire.")
	b.shot("satisfaction-report")
	b.clickLink(f.jeanneKey)
	b.mustContain("agent's ticket page", "Satisfaction", "Très satisfait(e)", "Réponse rapide et claire.", "pour Alice Agent")
	b.shot("ticket-rating-agent")
}
