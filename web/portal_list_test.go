package web

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

func TestRequestsList(t *testing.T) {
	f := newPortal(t, Options{})
	ctx := t.Context()
	// Paul's ticket at Jeanne's school, where Jeanne takes part; another one of his.
	tp, err := f.svc.CreateTicket(ctx, f.users["paul"], ticket.TicketRequest{NewTicket: ticket.NewTicket{Summary: "Tableau numérique", Description: "Écran noir", UAI: "0690026D", RequestType: "Demande d'assistance"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddParticipant(ctx, f.users["paul"], tp.Key, ticket.Address{Email: "jeanne@ecole.test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateTicket(ctx, f.users["paul"], ticket.TicketRequest{NewTicket: ticket.NewTicket{Summary: "Imprimante du CDI", Description: "Plus d'encre", UAI: "0690026D"}}); err != nil {
		t.Fatal(err)
	}
	jeanne := f.login(t, "jeanne")
	list := func(c *http.Cookie, q string) string {
		w := f.do(t, c, "GET", "/requests?"+q, nil)
		if w.Code != 200 {
			t.Fatalf("%s: %d", q, w.Code)
		}
		return w.Body.String()
	}
	keys := regexp.MustCompile(`<td data-label="Référence"><a href="/requests/([A-Z0-9-]+)">`)
	got := func(body string) []string {
		var out []string
		for _, m := range keys.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	body := list(jeanne, "")
	for _, col := range []string{"Type", "Référence", "Résumé", "Service desk", "Statut", "Créateur"} {
		if !strings.Contains(body, `<th scope="col">`+col+`</th>`) {
			t.Errorf("no column %q", col)
		}
	}
	for _, label := range []string{"Créées par moi", "Où je suis participant", "Toutes celles de mon établissement"} {
		if !strings.Contains(body, label) {
			t.Errorf("no filter %q", label)
		}
	}
	if k := got(body); len(k) != 3 || !strings.Contains(body, "1-3 de 3") {
		t.Errorf("default (whoever created them): %v", k)
	}
	body = list(jeanne, "scope=mine")
	if k := got(body); len(k) != 1 || k[0] != f.jeanneKey || !strings.Contains(body, "1-1 de 1") {
		t.Errorf("mine: %v", k)
	}
	if k := got(list(jeanne, "scope=participant")); len(k) != 1 || k[0] != tp.Key {
		t.Errorf("participant: %v", k)
	}
	body = list(jeanne, "scope=establishment")
	if k := got(body); len(k) != 3 || !strings.Contains(body, "1-3 de 3") {
		t.Errorf("establishment: %v", k)
	}
	if strings.Contains(body, f.eveKey) {
		t.Error("another school's ticket listed")
	}
	if k := got(list(jeanne, "scope=establishment&q=numerique")); len(k) != 1 || k[0] != tp.Key {
		t.Errorf("search: %v", k)
	}
	if k := got(list(jeanne, "scope=establishment&type="+url.QueryEscape("Demande d'assistance"))); len(k) != 1 {
		t.Errorf("type: %v", k)
	}
	f.svc.ChangeStatus(ctx, f.users["alice"], tp.Key, ticket.StatusWaiting)
	if k := got(list(jeanne, "scope=establishment&status=waiting")); len(k) != 1 || k[0] != tp.Key {
		t.Errorf("status: %v", k)
	}
	if k := got(list(jeanne, "scope=establishment&q=imprimante")); len(k) != 1 {
		t.Errorf("eve's Imprimante must not match: %v", k)
	}
	// Agents: every ticket, assigned to me, unassigned.
	alice := f.login(t, "alice")
	if k := got(list(alice, "scope=all")); len(k) != 4 {
		t.Errorf("agent all: %v", k)
	}
	f.svc.Assign(ctx, f.users["alice"], f.eveKey, "alice@support.test")
	if k := got(list(alice, "scope=assigned")); len(k) != 1 || k[0] != f.eveKey {
		t.Errorf("assigned: %v", k)
	}
	if k := got(list(alice, "scope=unassigned")); len(k) != 3 {
		t.Errorf("unassigned: %v", k)
	}
	if body := list(alice, ""); !strings.Contains(body, "Assignées à moi") || !strings.Contains(body, "Non assignées") {
		t.Error("agent filters missing")
	}
	// Paging.
	for i := 0; i < 30; i++ {
		f.svc.CreateTicket(ctx, f.users["jeanne"], ticket.TicketRequest{NewTicket: ticket.NewTicket{Summary: "Lot", Description: "x", UAI: "0690026D"}})
	}
	body = list(jeanne, "scope=mine")
	if !strings.Contains(body, "1-25 de 31") {
		t.Fatalf("first page: %s", regexp.MustCompile(`\d+-\d+ de \d+`).FindString(body))
	}
	next := regexp.MustCompile(`href="(/requests\?[^"]+)" rel="next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next link")
	}
	body = list(jeanne, strings.TrimPrefix(strings.ReplaceAll(next[1], "&amp;", "&"), "/requests?"))
	if !strings.Contains(body, "26-31 de 31") || !strings.Contains(body, `rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("second page: %s", regexp.MustCompile(`\d+-\d+ de \d+`).FindString(body))
	}
	if w := f.do(t, jeanne, "GET", "/requests?page=forged", nil); w.Code != 200 {
		t.Errorf("forged cursor: %d", w.Code)
	}
}

func TestProfile(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	body := f.do(t, c, "GET", "/profile", nil).Body.String()
	for _, want := range []string{`id="p-login" type="text" value="jeanne@ecole.test" readonly`, `<option value="Europe/Paris" selected>`,
		`<option value="America/Martinique"`, "Jeton", "Nom affiché", "Adresse de notification", "Changer le mot de passe"} {
		if !strings.Contains(body, want) {
			t.Errorf("profile lacks %q", want)
		}
	}
	// Dates follow the time zone.
	created := f.do(t, c, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	if w := f.do(t, c, "POST", "/profile", url.Values{"name": {"Jeanne M."}, "time_zone": {"Mars/Olympus"}, "lang": {"fr"}}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("bad zone: %d", w.Code)
	}
	if w := f.do(t, c, "POST", "/profile", url.Values{"name": {"Jeanne M."}, "time_zone": {"Pacific/Auckland"}, "lang": {"en"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", w.Code)
	}
	after := f.do(t, c, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	dateRe := regexp.MustCompile(`<time datetime="([^"]+)">([^<]+)</time>`)
	b, a := dateRe.FindStringSubmatch(created), dateRe.FindStringSubmatch(after)
	if b == nil || a == nil || b[2] == a[2] || !strings.Contains(a[1], "&#43;13:00") || !strings.Contains(after, `<html lang="en">`) || !strings.Contains(after, "Pacific/Auckland") {
		t.Errorf("dates did not follow the zone: %v → %v", b, a)
	}
	// Avatar: an image is taken, anything else is not, whatever its name says.
	var img bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 4, 4))
	m.Set(1, 1, color.RGBA{255, 0, 0, 255})
	png.Encode(&img, m)
	if w := f.upload(t, c, "/profile/avatar", nil, "avatar", map[string]string{"me.png": "<html>not an image</html>"}); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "PNG, JPEG, GIF or WebP") {
		t.Errorf("fake image: %d", w.Code)
	}
	if w := f.upload(t, c, "/profile/avatar", nil, "avatar", map[string]string{"big.png": "\x89PNG\r\n\x1a\n" + strings.Repeat("x", ticket.MaxAvatarSize)}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("big image: %d", w.Code)
	}
	if w := f.upload(t, c, "/profile/avatar", nil, "avatar", map[string]string{"me.png": img.String()}); w.Code != http.StatusSeeOther {
		t.Fatalf("avatar: %d %s", w.Code, w.Body)
	}
	if w := f.do(t, c, "GET", "/profile/avatar", nil); w.Code != 200 || w.Header().Get("Content-Type") != "image/png" {
		t.Errorf("avatar: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	// Password.
	if w := f.do(t, c, "POST", "/profile/password", url.Values{"current": {"faux"}, "new": {"nouveau-mdp-1"}, "confirm": {"nouveau-mdp-1"}}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("wrong current password: %d", w.Code)
	}
	if w := f.do(t, c, "POST", "/profile/password", url.Values{"current": {testPassword}, "new": {"nouveau-mdp-1"}, "confirm": {"autre"}}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("confirmation differs: %d", w.Code)
	}
	if w := f.do(t, c, "POST", "/profile/password", url.Values{"current": {testPassword}, "new": {"nouveau-mdp-1"}, "confirm": {"nouveau-mdp-1"}}); w.Code != http.StatusSeeOther {
		t.Errorf("password: %d", w.Code)
	}
	if _, err := f.svc.Authenticate(t.Context(), "jeanne@ecole.test", "nouveau-mdp-1"); err != nil {
		t.Error("new password does not work")
	}
	// Notification address: only after confirmation.
	if w := f.do(t, c, "POST", "/profile/notify", url.Values{"notify_email": {"pas une adresse"}}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("bad address: %d", w.Code)
	}
	if w := f.do(t, c, "POST", "/profile/notify", url.Values{"notify_email": {"jeanne.perso@mail.test"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("notify: %d", w.Code)
	}
	links := f.outboxLinks(t, ticket.MailConfirmAddress, "jeanne.perso@mail.test")
	if len(links) != 1 {
		t.Fatalf("confirmation mails: %v", links)
	}
	u, _ := url.Parse(links[0])
	// The link's GET (as a mail scanner would open it) shows a button and confirms
	// nothing; the button's POST confirms, once.
	for range 2 {
		if w := f.do(t, c, "GET", u.RequestURI(), nil); w.Code != 200 || !strings.Contains(w.Body.String(), "Confirm the address") { // Jeanne chose English above
			t.Errorf("confirm page: %d %s", w.Code, w.Body)
		}
	}
	if a, _ := f.svc.Account(t.Context(), f.users["jeanne"].ID); a.NotifyEmail == "jeanne.perso@mail.test" {
		t.Error("the link's GET confirmed the address")
	}
	if w := f.do(t, c, "POST", "/profile/confirm", url.Values{"t": {u.Query().Get("t")}}); w.Code != 200 {
		t.Errorf("confirm: %d", w.Code)
	}
	if w := f.do(t, c, "POST", "/profile/confirm", url.Values{"t": {u.Query().Get("t")}}); w.Code != http.StatusNotFound ||
		!strings.Contains(w.Body.String(), "no longer valid") {
		t.Errorf("second confirm: %d %s", w.Code, w.Body)
	}
	if a, _ := f.svc.Account(t.Context(), f.users["jeanne"].ID); a.NotifyEmail != "jeanne.perso@mail.test" {
		t.Errorf("notify address %q", a.NotifyEmail)
	}
	// API tokens: shown once, then revoked.
	w := f.do(t, c, "POST", "/profile/tokens", url.Values{"name": {"script"}})
	tok := regexp.MustCompile(`<code class="token" id="new-token">([^<]+)</code>`).FindStringSubmatch(w.Body.String())
	if w.Code != 200 || tok == nil {
		t.Fatalf("token: %d", w.Code)
	}
	if _, err := f.svc.TokenUser(t.Context(), tok[1]); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.do(t, c, "GET", "/profile", nil).Body.String(), tok[1]) {
		t.Error("the token is shown again")
	}
	ts, _ := f.svc.ListTokens(t.Context(), f.users["jeanne"])
	if w := f.do(t, f.login(t, "paul"), "POST", "/profile/tokens/"+itoa(ts[0].ID)+"/revoke", url.Values{}); w.Code != 404 {
		t.Errorf("revoking another's token: %d", w.Code)
	}
	if w := f.do(t, c, "POST", "/profile/tokens/"+itoa(ts[0].ID)+"/revoke", url.Values{}); w.Code != http.StatusSeeOther {
		t.Errorf("revoke: %d", w.Code)
	}
	if _, err := f.svc.TokenUser(t.Context(), tok[1]); err == nil {
		t.Error("revoked token still works")
	}

}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
