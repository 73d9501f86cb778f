package web

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/guichet/guichet/ticket"
)

// fill types value into the field whose label starts with label.
func (b *browser) fill(label, value string) {
	b.t.Helper()
	id := b.eval(`(([...document.querySelectorAll("label")].find(l => l.textContent.trim().startsWith(` + strconv.Quote(label) + `)) || {}).htmlFor || "")`)
	if id == "" {
		b.t.Fatalf("no field labelled %q on %s", label, b.location())
	}
	b.set("#"+id, value)
}

// follow clicks the link with that visible text and waits for the next page.
func (b *browser) follow(text string) {
	b.t.Helper()
	js := `[...document.querySelectorAll("a")].find(e => e.textContent.trim() === ` + strconv.Quote(text) + `)`
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.JSPath(js))); err != nil {
		b.t.Fatalf("follow %q: %v", text, err)
	}
}

// TestBrowserAgentTools walks the agents' tools of issue 15 by their visible French
// labels: a saved reply written, inserted in a comment and sent; the SLA targets on the
// ticket and the list ordered by deadline; a duplicate merged; the dashboard. Each page
// is checked with axe-core (when GUICHET_TEST_AXE is set) and photographed.
func TestBrowserAgentTools(t *testing.T) {
	f := newPortal(t, Options{})
	dup, err := f.svc.CreateTicket(context.Background(), f.users["alice"], ticket.TicketRequest{
		Requester: ticket.Address{Email: "paul@ecole.test"},
		NewTicket: ticket.NewTicket{Summary: "Wifi en panne (doublon)", Description: "Même problème que Jeanne.", UAI: "0690026D", Source: ticket.SourcePhone}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	b := newBrowserFor(t, srv.URL, 5*time.Minute)
	page := func(name string) { b.t.Helper(); b.checkPage("agent-"+name, "fr", true) }
	b.login("alice@support.test")

	// A saved reply, from the navigation.
	b.open("/")
	b.follow("Réponses enregistrées")
	page("replies-empty")
	b.fill("Nom", "borne")
	b.fill("Titre", "Redémarrer la borne")
	b.fill("Texte en français", "Bonjour {demandeur},\nredémarrez la borne wifi de la salle ({cle}).")
	b.clickLabel("Enregistrer")
	b.mustContain("saved reply", "Réponse « borne » enregistrée.", "#modele borne", "Redémarrer la borne")
	page("replies")

	// The ticket: SLA targets, the saved reply inserted and sent.
	b.open("/requests/" + f.jeanneKey)
	b.mustContain("ticket SLA", "Première réponse", "reste 8 h", "Résolution")
	b.fill("Réponse enregistrée", "borne")
	b.clickLabel("Insérer la réponse")
	if got := b.value("#comment-body"); !strings.Contains(got, "Bonjour Jeanne Martin,\nredémarrez la borne wifi de la salle ("+f.jeanneKey+").") {
		t.Fatalf("comment box after inserting: %q", got)
	}
	page("ticket-reply-inserted")
	b.clickLabel("Ajouter")
	b.mustContain("comment sent", "redémarrez la borne wifi de la salle", "respecté")

	// The list by nearest deadline: Paul's request is the one whose clock runs.
	b.open("/requests")
	b.fill("Ordre", "due")
	b.clickLabel("Filtrer")
	b.mustContain("list by deadline", "Échéance", dup.Key, "Première réponse : ")
	page("list-by-deadline")

	// Paul's duplicate merged into Jeanne's request.
	b.open("/requests/" + dup.Key)
	b.fill("Fusionner dans la demande", f.jeanneKey)
	b.clickLabel("Fusionner")
	b.mustContain("merged", "La demande "+dup.Key+" a été fusionnée dans celle-ci.", "["+dup.Key+"] Wifi en panne (doublon)")
	page("merged-target")
	b.open("/requests/" + dup.Key)
	b.mustContain("merged ticket", "Cette demande a été fusionnée dans la demande "+f.jeanneKey)

	// The dashboard.
	b.open("/")
	b.follow("Tableau de bord")
	b.mustContain("dashboard", "Demandes par statut (3 en tout)", "Délai médian de première réponse", "Chiffres par semaine")
	if n := b.eval(`String(document.querySelectorAll("svg.weekly rect").length)`); n == "0" {
		t.Error("the dashboard's chart has no bars")
	}
	page("dashboard")

	// The same pages on a 390 px phone: nothing scrolls sideways, axe-core still passes.
	b.do(chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/agent/dashboard", "/agent/replies", "/requests?sort=due", "/requests/" + f.jeanneKey, "/requests/" + dup.Key} {
		b.open(p)
		b.checkPage("agent-phone"+strings.ReplaceAll(p, "/", "-"), "fr", false)
	}
}
