package web

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

// page GETs target as who (nil: signed out) and returns its decoded HTML.
func (f *portalFixture) page(t *testing.T, c *http.Cookie, target string) string {
	t.Helper()
	w := f.do(t, c, "GET", target, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
	}
	return html.UnescapeString(w.Body.String())
}

// setLang switches who's pages to lang.
func (f *portalFixture) setLang(t *testing.T, who, lang string) {
	t.Helper()
	u := f.users[who]
	if _, err := f.svc.UpdateProfile(context.Background(), u, ticket.Profile{Name: u.Name, Lang: lang}); err != nil {
		t.Fatal(err)
	}
}

func mustHave(t *testing.T, what, page string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
}

func mustLack(t *testing.T, what, page string, unwanted ...string) {
	t.Helper()
	for _, s := range unwanted {
		if strings.Contains(page, s) {
			t.Errorf("%s has %q", what, s)
		}
	}
}

// The home page (§3) by default: the guide's name in the header and title, its welcome
// line, its "Formulaire d'assistance" link; no phone line until a number is configured.
func TestGuideHomeDefault(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	home := f.page(t, c, "/")
	mustHave(t, "home", home,
		`<a class="brand" href="/">ma classe en Auvergne-Rhône-Alpes — Assistance ENT</a>`,
		"<title>Accueil · ma classe en Auvergne-Rhône-Alpes — Assistance ENT</title>",
		"Bienvenue sur le portail d'assistance ma classe en Auvergne-Rhône-Alpes — Assistance ENT !",
		"<strong>Formulaire d'assistance</strong>")
	mustLack(t, "home", home, ">Guichet<", "Assistance téléphonique", `src="/logo"`)
	if w := f.do(t, c, "GET", "/logo", nil); w.Code != http.StatusNotFound {
		t.Errorf("GET /logo without a logo: %d", w.Code)
	}
	f.setLang(t, "jeanne", "en")
	home = f.page(t, c, "/")
	mustHave(t, "English home", home, "Welcome to the ma classe en Auvergne-Rhône-Alpes — ENT support support portal!", "<strong>Support form</strong>")
}

// A configured name, welcome line, logo and phone support (§2.2): the phone number and
// hours on the home page and in every page's footer, in the user's language.
func TestGuideHomeConfigured(t *testing.T) {
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`)
	if err := CheckLogo(svg); err != nil {
		t.Fatal(err)
	}
	f := newPortal(t, Options{Brand: Brand{
		Name:    ParseBilingual("Assistance Lycées|School support"),
		Welcome: ParseBilingual("Bonjour et bienvenue !|Hello and welcome!"),
		Phone:   "04 26 73 64 64",
		Logo:    svg,
	}})
	c := f.login(t, "jeanne")
	home := f.page(t, c, "/")
	mustHave(t, "home", home, `<img class="logo" src="/logo" alt="">Assistance Lycées</a>`, "Bonjour et bienvenue !",
		"Besoin d'aide ?", `Assistance téléphonique : <a href="tel:0426736464">04 26 73 64 64</a>, du lundi au vendredi de 08h à 18h`)
	list := f.page(t, c, "/requests")
	footer := list[strings.Index(list, `<footer`):]
	mustHave(t, "footer", footer, "04 26 73 64 64", "du lundi au vendredi de 08h à 18h")
	w := f.do(t, c, "GET", "/logo", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" || w.Body.String() != string(svg) ||
		!strings.Contains(w.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("GET /logo: %d %v", w.Code, w.Header())
	}
	f.setLang(t, "jeanne", "en")
	home = f.page(t, c, "/")
	mustHave(t, "English home", home, "School support</a>", "Hello and welcome!", "Need help?", "Phone support:", "Monday to Friday, 8 am to 6 pm")

	for _, bad := range [][]byte{nil, []byte("\x00\x01 not an image"), []byte("<html><script>alert(1)</script>"), make([]byte, 2<<20)} {
		if CheckLogo(bad) == nil {
			t.Errorf("CheckLogo(%.20q) accepted", bad)
		}
	}
}

// The request form (§4) marks optional fields "(Facultatif)" as the guide does, never a
// required one, and its button says "Créer"; the ticket's comment box is "Commenter cette
// requête" with "Ajouter". In English too.
func TestGuideFormWords(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	form := f.page(t, c, "/requests/new")
	for _, label := range []string{"URL", "Académie", "Composants", "Pièces jointes", "Téléphone de contact",
		"Date de début de l'incident", "Utilisateur(s) concerné(s)"} {
		mustHave(t, "form", form, label+` <span class="opt">(Facultatif)</span>`)
	}
	for _, label := range []string{"Objet de la demande", "RNE/UAI", "Description"} {
		mustLack(t, "form", form, label+` <span class="opt">`)
	}
	mustHave(t, "form", form, `<button type="submit">Créer</button>`)
	ticketPage := f.page(t, c, "/requests/"+f.jeanneKey)
	mustHave(t, "ticket", ticketPage, `<h2 id="reply-title">Commenter cette requête</h2>`,
		`<form method="post" action="/requests/`+f.jeanneKey+`/comments"`)
	reply := ticketPage[strings.Index(ticketPage, `id="reply-title"`):]
	reply = reply[:strings.Index(reply, "</form>")]
	mustHave(t, "comment box", reply, `<button type="submit">Ajouter</button>`)

	f.setLang(t, "jeanne", "en")
	form = f.page(t, c, "/requests/new")
	mustHave(t, "English form", form, `URL <span class="opt">(Optional)</span>`, `<button type="submit">Create</button>`)
	ticketPage = f.page(t, c, "/requests/"+f.jeanneKey)
	mustHave(t, "English ticket", ticketPage, "Comment on this request", `<button type="submit">Add</button>`)
	if agent := f.page(t, f.login(t, "alice"), "/agent/phone"); !strings.Contains(agent, `Nom de l'appelant <span class="opt">(Facultatif)</span>`) ||
		strings.Contains(agent, `Adresse e-mail de l'appelant <span class="opt">`) {
		t.Errorf("phone form: the caller's name is optional, the address not")
	}
}

// The list's filters (§7) in the guide's order and words: "Quel que soit le créateur" is
// a customer's default and shows every request they may see — their own, those they take
// part in (even at another school), their school's — and nothing else; then the narrower
// choices, "Tous les statuts", "Tout type de demande", "Recherche de requêtes".
func TestGuideListFilters(t *testing.T) {
	f := newPortal(t, Options{})
	ctx := t.Context()
	// Eve (another school) makes Jeanne a participant of a request of hers.
	te, err := f.svc.CreateTicket(ctx, f.users["eve"], ticket.TicketRequest{NewTicket: ticket.NewTicket{Summary: "Scanner", Description: "Hors ligne", UAI: "0380001V"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AllowParticipant(ctx, "0380001V", "jeanne@ecole.test"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddParticipant(ctx, f.users["eve"], te.Key, ticket.Address{Email: "jeanne@ecole.test"}); err != nil {
		t.Fatal(err)
	}
	tp, err := f.svc.CreateTicket(ctx, f.users["paul"], ticket.TicketRequest{NewTicket: ticket.NewTicket{Summary: "Tableau", Description: "Noir", UAI: "0690026D"}})
	if err != nil {
		t.Fatal(err)
	}
	c := f.login(t, "jeanne")
	list := f.page(t, c, "/requests")
	order := []string{"Quel que soit le créateur", "Créées par moi", "Où je suis participant", "Toutes celles de mon établissement",
		"Tous les statuts", "Tout type de demande", "Recherche de requêtes"}
	at := 0
	for _, label := range order {
		i := strings.Index(list[at:], label)
		if i < 0 {
			t.Fatalf("list lacks %q after the previous filters", label)
		}
		at += i
	}
	mustHave(t, "list", list, `id="scope-all" name="scope" value="all" checked>`, f.jeanneKey, te.Key, tp.Key, "1-3 de 3")
	mustLack(t, "list", list, f.eveKey, `value="mine" checked`)
	if got := f.page(t, c, "/requests?scope=establishment"); strings.Contains(got, te.Key) || !strings.Contains(got, tp.Key) {
		t.Error("establishment: wrong rows")
	}
	// A scope of agents, asked for by a customer, falls back to the default.
	if got := f.page(t, c, "/requests?scope=unassigned"); !strings.Contains(got, `value="all" checked`) || !strings.Contains(got, "1-3 de 3") {
		t.Error("an agent's scope for a customer: not the default")
	}

	f.setLang(t, "jeanne", "en")
	list = f.page(t, c, "/requests")
	mustHave(t, "English list", list, "Whoever created them", "Created by me", "Where I am a participant", "All those of my school",
		"Every status", "Any request type", "Search requests")
	mustLack(t, "English list", list, "All of my school's", "Where I take part")

	// Agents keep their own first choice, every request.
	agent := f.page(t, f.login(t, "alice"), "/requests")
	mustHave(t, "agent list", agent, `value="all" checked><label for="scope-all">Toutes</label>`)
	mustLack(t, "agent list", agent, "Quel que soit le créateur")
}

// People are named, not shown as raw addresses, in the activity, the participants and the
// assignee; an address is shown only for someone whose name is unknown.
func TestGuidePeopleByName(t *testing.T) {
	f := newPortal(t, Options{})
	ctx := t.Context()
	if err := f.svc.AddParticipant(ctx, f.users["jeanne"], f.jeanneKey, ticket.Address{Email: "paul@ecole.test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AllowParticipant(ctx, "0690026D", "inconnu@ecole.test"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddParticipant(ctx, f.users["jeanne"], f.jeanneKey, ticket.Address{Email: "inconnu@ecole.test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Assign(ctx, f.users["alice"], f.jeanneKey, "alice@support.test"); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"jeanne", "alice"} {
		page := f.page(t, f.login(t, who), "/requests/"+f.jeanneKey)
		mustHave(t, who+"'s ticket page", page, "Paul Durand a été ajouté aux participants · par Jeanne Martin",
			"inconnu@ecole.test a été ajouté aux participants · par Jeanne Martin",
			`<span title="paul@ecole.test">Paul Durand</span>`, `<span>inconnu@ecole.test</span>`, `aria-label="Retirer Paul Durand"`)
		mustLack(t, who+"'s ticket page", page, "paul@ecole.test a été ajouté", "par jeanne@ecole.test", "<span>paul@ecole.test</span>")
		if who == "alice" {
			mustHave(t, "agent's page", page, "<dd>Alice Agent</dd>", "Demande assignée à Alice Agent · par Alice Agent")
			mustLack(t, "agent's page", page, "assignée à alice@support.test")
		}
	}
}

// After an agent records a phone request (§2.2) the page speaks to the agent, not to a
// customer, and the activity says which agent took the call, for whom.
func TestGuidePhoneRequestWords(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "alice")
	form := url.Values{"summary": {"Appel : mot de passe"}, "uai": {"0690026D"}, "description": {"Appelle depuis le secrétariat"},
		"request_id": {"p1"}, "caller_email": {"paul@ecole.test"}}
	w := f.do(t, c, "POST", "/agent/phone", form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	target := w.Header().Get("Location")
	key := strings.TrimPrefix(target, "/requests/")
	var flash *http.Cookie
	for _, k := range w.Result().Cookies() {
		if k.Name == flashCookie {
			flash = k
		}
	}
	if flash == nil {
		t.Fatal("no message for the next page")
	}
	r := httptest.NewRequest("GET", target, nil)
	r.AddCookie(c)
	r.AddCookie(flash)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	page := html.UnescapeString(rec.Body.String())
	mustHave(t, "agent's page", page, "La demande "+key+" a été enregistrée au nom de l'appelant, qui va recevoir un accusé de réception par e-mail.",
		"Demande reçue par téléphone, de Paul Durand · par Alice Agent")
	mustLack(t, "agent's page", page, "Vous allez recevoir", "Votre demande")

	// The caller sees who took the call too; a customer's own request keeps the customer's words.
	paul := f.login(t, "paul")
	f.setLang(t, "paul", "en")
	mustHave(t, "caller's page", f.page(t, paul, target), "Request taken on the phone, from Paul Durand · by Alice Agent")
	w = f.do(t, f.login(t, "jeanne"), "POST", "/requests/new", url.Values{"summary": {"Wifi"}, "uai": {"0690026D"}, "description": {"x"}, "request_id": {"j1"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("customer request: %d", w.Code)
	}
	for _, k := range w.Result().Cookies() {
		if k.Name == flashCookie && !strings.Contains(k.Value, "ticket.created_ok") {
			t.Errorf("customer's message: %q", k.Value)
		}
	}
}

// A new request has no empty "Activité" heading; the heading comes with the first entry.
// In English the scope labels read naturally and the default request types are
// translated (their stored values stay French, so filters and the API are unchanged).
func TestGuideTicketAndEnglish(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	page := f.page(t, c, "/requests/"+f.jeanneKey)
	mustLack(t, "new request", page, `id="activity-title"`, `<ol class="activity">`)
	if w := f.do(t, c, "POST", "/requests/"+f.jeanneKey+"/comments", url.Values{"body": {"Toujours en panne"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("comment: %d", w.Code)
	}
	mustHave(t, "commented request", f.page(t, c, "/requests/"+f.jeanneKey), `<h2 id="activity-title">Activité</h2>`, "Toujours en panne")

	if _, err := f.svc.CreateTicket(t.Context(), f.users["jeanne"], ticket.TicketRequest{NewTicket: ticket.NewTicket{
		Summary: "Question", Description: "x", UAI: "0690026D", RequestType: "Demande d'information"}}); err != nil {
		t.Fatal(err)
	}
	f.setLang(t, "jeanne", "en")
	list := f.page(t, c, "/requests")
	mustHave(t, "English list", list, `<option value="Demande d'assistance">Request for assistance</option>`,
		`<td data-label="Type">Request for information</td>`, `<td data-label="Type">Incident</td>`)
	mustLack(t, "English list", list, ">Demande d'assistance<", ">Demande d'information<")
	form := f.page(t, c, "/requests/new")
	mustHave(t, "English form", form, `<option value="Demande d'information">Request for information</option>`)
	mustLack(t, "English form", form, ">Demande d'information<")
	if got := f.page(t, c, "/requests?type="+url.QueryEscape("Demande d'information")); !strings.Contains(got, "1-1 of 1") {
		t.Error("the type filter no longer matches the stored value")
	}
	f.setLang(t, "jeanne", "fr")
	mustHave(t, "French list", f.page(t, c, "/requests"), `<td data-label="Type">Demande d'information</td>`)
}

// Time zones (§9) are offered as people read them, "(GMT+01:00) Paris", grouped by
// region with the user's own region first; what is stored stays the IANA name.
func TestGuideTimeZones(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	page := f.page(t, c, "/profile")
	mustHave(t, "profile", page, `<option value="Europe/Paris" selected>(GMT+01:00) Paris</option>`,
		`<option value="America/Argentina/Buenos_Aires">(GMT-03:00) Buenos Aires</option>`,
		`<option value="Asia/Kolkata">(GMT+05:30) Kolkata</option>`, `<optgroup label="Océan Pacifique">`)
	mustLack(t, "profile", page, ">Europe/Paris<", ">region.")
	first := page[strings.Index(page, `id="p-tz"`):]
	if !strings.HasPrefix(first[strings.Index(first, "<optgroup"):], `<optgroup label="Europe">`) {
		t.Errorf("a Paris user's first region is not Europe")
	}
	if w := f.do(t, c, "POST", "/profile", url.Values{"name": {"Jeanne Martin"}, "time_zone": {"Pacific/Auckland"}, "lang": {"en"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", w.Code)
	}
	page = f.page(t, c, "/profile")
	first = page[strings.Index(page, `id="p-tz"`):]
	if !strings.HasPrefix(first[strings.Index(first, "<optgroup"):], `<optgroup label="Pacific Ocean">`) {
		t.Errorf("an Auckland user's first region is not the Pacific")
	}
	mustHave(t, "profile", page, `<option value="Pacific/Auckland" selected>(GMT+12:00) Auckland</option>`, `<optgroup label="Europe">`)
	for area := range zoneChoices {
		if k := "region." + area; f.h.pages.T("fr", k) == k || f.h.pages.T("en", k) == k {
			t.Errorf("no name for the region %s", area)
		}
	}
	if n := len(zoneChoices["Europe"]); n < 50 {
		t.Errorf("only %d European zones", n)
	}
}
