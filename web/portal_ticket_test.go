package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

// TestAccessRules: a customer asking for another establishment's ticket or file gets
// exactly the 404 of one that does not exist; internal notes and their files are for
// agents only.
func TestAccessRules(t *testing.T) {
	f := newPortal(t, Options{})
	eve, jeanne, paul, alice := f.login(t, "eve"), f.login(t, "jeanne"), f.login(t, "paul"), f.login(t, "alice")
	missing := f.do(t, eve, "GET", "/requests/AURAN1-999", nil)
	if missing.Code != http.StatusNotFound {
		t.Fatalf("missing ticket: %d", missing.Code)
	}
	file := "/requests/" + f.jeanneKey + "/attachments/" + f.jeanneFile
	for _, tc := range []struct {
		name, method, path string
		form               url.Values
	}{
		{"ticket", "GET", "/requests/" + f.jeanneKey, nil},
		{"attachment", "GET", file, nil},
		{"attachment under the wrong ticket", "GET", "/requests/" + f.eveKey + "/attachments/" + f.jeanneFile, nil},
		{"comment", "POST", "/requests/" + f.jeanneKey + "/comments", url.Values{"body": {"intrus"}}},
		{"participant", "POST", "/requests/" + f.jeanneKey + "/participants", url.Values{"email": {"eve@ailleurs.test"}}},
		{"remove participant", "POST", "/requests/" + f.jeanneKey + "/participants/remove", url.Values{"email": {"paul@ecole.test"}}},
		{"status", "POST", "/requests/" + f.jeanneKey + "/status", url.Values{"status": {"closed"}}},
		{"assign", "POST", "/requests/" + f.jeanneKey + "/assign", url.Values{"me": {"1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, eve, tc.method, tc.path, tc.form)
			if w.Code != http.StatusNotFound || w.Body.String() != missing.Body.String() {
				t.Errorf("%d, body differs from a missing ticket's: %v", w.Code, w.Body.String() != missing.Body.String())
			}
		})
	}
	// Paul, of the same school, sees Jeanne's ticket and its file.
	if w := f.do(t, paul, "GET", file, nil); w.Code != 200 {
		t.Errorf("colleague: %d", w.Code)
	}
	w := f.do(t, jeanne, "GET", file, nil)
	if w.Code != 200 || w.Body.String() != "le fichier de Jeanne" ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment;") || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download: %d %v", w.Code, w.Header())
	}
	// Internal notes: never to customers, nor their files.
	note := "/requests/" + f.eveKey + "/attachments/" + f.internalSum
	if body := f.do(t, eve, "GET", "/requests/"+f.eveKey, nil).Body.String(); strings.Contains(body, "secret interne") || strings.Contains(body, f.internalSum) {
		t.Error("a customer sees an internal note")
	}
	if w := f.do(t, eve, "GET", note, nil); w.Code != http.StatusNotFound {
		t.Errorf("customer gets an internal note's file: %d", w.Code)
	}
	body := f.do(t, alice, "GET", "/requests/"+f.eveKey, nil).Body.String()
	if !strings.Contains(body, "secret interne") || !strings.Contains(body, "Note interne") {
		t.Error("the agent does not see the internal note")
	}
	if w := f.do(t, alice, "GET", note, nil); w.Code != 200 {
		t.Errorf("agent download of a note's file: %d", w.Code)
	}
	// Customers cannot write internal notes, even by forging the field.
	f.do(t, eve, "POST", "/requests/"+f.eveKey+"/comments", url.Values{"body": {"note?"}, "internal": {"1"}})
	d, _ := f.svc.DetailFor(t.Context(), f.users["alice"], f.eveKey)
	for _, c := range d.Comments {
		if c.Body == "note?" {
			t.Error("a customer wrote an internal note")
		}
	}
	// Agents' pages are a 404 for customers.
	for _, p := range []string{"/agent/held", "/agent/failed", "/inbound/1/raw", "/agent/phone"} {
		if w := f.do(t, eve, "GET", p, nil); w.Code != http.StatusNotFound {
			t.Errorf("%s for a customer: %d", p, w.Code)
		}
	}
}

func TestTicketActions(t *testing.T) {
	f := newPortal(t, Options{})
	jeanne, alice := f.login(t, "jeanne"), f.login(t, "alice")
	key := f.jeanneKey
	page := func(c *http.Cookie) string { return f.do(t, c, "GET", "/requests/"+key, nil).Body.String() }
	// The customer's page: fields, French status, no agent tools.
	body := page(jeanne)
	for _, want := range []string{"Wifi en panne", "Salle 12<br>Depuis lundi", "Nouveau", "0690026D", "Incident", "Ajouter des participants", "note.txt"} {
		if !strings.Contains(body, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	if strings.Contains(body, "Outils des agents") || strings.Contains(body, `name="internal"`) {
		t.Error("customer sees agent tools")
	}
	// Comment with a file.
	w := f.upload(t, jeanne, "/requests/"+key+"/comments", url.Values{"body": {"Toujours en panne\n<script>x</script>"}}, "attachments",
		map[string]string{"photo.jpg": "\xff\xd8\xff\xe0 jpeg"})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("comment: %d %s", w.Code, w.Body)
	}
	body = page(jeanne)
	if !strings.Contains(body, "Toujours en panne<br>&lt;script&gt;x&lt;/script&gt;") || !strings.Contains(body, "photo.jpg") {
		t.Error("comment not shown, or not escaped")
	}
	if w := f.do(t, jeanne, "POST", "/requests/"+key+"/comments", url.Values{"body": {"  "}}); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "commentaire est vide") {
		t.Errorf("empty comment: %d", w.Code)
	}
	// Participants: someone from elsewhere is refused with the reason; a colleague is added.
	w = f.do(t, jeanne, "POST", "/requests/"+key+"/participants", url.Values{"email": {"eve@ailleurs.test"}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "liste des participants autorisés") ||
		!strings.Contains(w.Body.String(), `value="eve@ailleurs.test"`) {
		t.Errorf("refused participant: %d", w.Code)
	}
	if w := f.do(t, jeanne, "POST", "/requests/"+key+"/participants", url.Values{"email": {"paul@ecole.test"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("add participant: %d %s", w.Code, w.Body)
	}
	if body := page(jeanne); !strings.Contains(body, "Paul Durand a été ajouté aux participants") {
		t.Error("participant event missing")
	}
	// The agent: tools, internal note, public answer, assignment, closing.
	body = page(alice)
	for _, want := range []string{"Outils des agents", `name="internal"`, `id="status-select"`, "Assigner"} {
		if !strings.Contains(body, want) {
			t.Errorf("agent page lacks %q", want)
		}
	}
	f.do(t, alice, "POST", "/requests/"+key+"/comments", url.Values{"body": {"note pour l'équipe"}, "internal": {"1"}})
	f.do(t, alice, "POST", "/requests/"+key+"/comments", url.Values{"body": {"Pouvez-vous redémarrer la borne ?"}})
	if w := f.do(t, alice, "POST", "/requests/"+key+"/assign", url.Values{"me": {"1"}}); w.Code != http.StatusSeeOther {
		t.Errorf("assign: %d", w.Code)
	}
	if w := f.do(t, alice, "POST", "/requests/"+key+"/assign", url.Values{"email": {"jeanne@ecole.test"}}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("assign to a customer: %d", w.Code)
	}
	body = page(jeanne)
	if strings.Contains(body, "note pour l&#39;équipe") || !strings.Contains(body, "Pouvez-vous redémarrer") || !strings.Contains(body, "En attente utilisateur") {
		t.Error("customer view after the agent's answer is wrong")
	}
	if w := f.do(t, alice, "POST", "/requests/"+key+"/status", url.Values{"status": {"closed"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("close: %d", w.Code)
	}
	if body := page(jeanne); !strings.Contains(body, "Fermé") || !strings.Contains(body, "Statut : En attente utilisateur → Fermé") {
		t.Error("closing not shown")
	}
	if w := f.do(t, alice, "POST", "/requests/"+key+"/status", url.Values{"status": {"bogus"}}); w.Code != http.StatusBadRequest {
		t.Errorf("bad status: %d", w.Code)
	}
	// Paul (participant) removes himself.
	paul := f.login(t, "paul")
	if w := f.do(t, paul, "POST", "/requests/"+key+"/participants/remove", url.Values{"email": {"paul@ecole.test"}}); w.Code != http.StatusSeeOther {
		t.Errorf("remove: %d", w.Code)
	}
	d, _ := f.svc.DetailFor(t.Context(), f.users["alice"], key)
	if len(d.Participants) != 0 || d.Status != ticket.StatusClosed || d.Assignee != "alice@support.test" {
		t.Errorf("detail %+v", d)
	}
}

func TestStopLink(t *testing.T) {
	f := newPortal(t, Options{})
	tok := f.svc.StopToken(f.jeanneKey, "jeanne@ecole.test")
	q := "?a=" + url.QueryEscape("jeanne@ecole.test") + "&t=" + tok
	if w := f.do(t, nil, "GET", "/requests/"+f.jeanneKey+"/stop"+q, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "Ne plus recevoir") {
		t.Fatalf("stop page: %d", w.Code)
	}
	if w := f.do(t, nil, "GET", "/requests/"+f.jeanneKey+"/stop?a=jeanne@ecole.test&t=faux", nil); w.Code != 404 {
		t.Errorf("bad token: %d", w.Code)
	}
	// The GET (a mail scanner opens it first) changes nothing; only the button's POST does.
	muted := func() int {
		d, err := f.svc.DetailFor(t.Context(), f.users["alice"], f.jeanneKey)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range d.Events {
			if e.Kind == "muted" {
				n++
			}
		}
		return n
	}
	if n := muted(); n != 0 {
		t.Fatalf("the stop link's GET muted the address (%d events)", n)
	}
	w := f.do(t, nil, "POST", "/requests/"+f.jeanneKey+"/stop", url.Values{"a": {"jeanne@ecole.test"}, "t": {tok}, "muted": {"1"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "vous ne recevrez plus") {
		t.Fatalf("stop: %d", w.Code)
	}
	if n := muted(); n != 1 {
		t.Errorf("the button's POST: %d muted events", n)
	}
	if w := f.do(t, nil, "POST", "/requests/"+f.jeanneKey+"/stop", url.Values{"a": {"jeanne@ecole.test"}, "t": {"x"}}); w.Code != 404 {
		t.Errorf("forged stop: %d", w.Code)
	}
}

func TestAgentInbound(t *testing.T) {
	f := newPortal(t, Options{})
	alice := f.login(t, "alice")
	for _, p := range []string{"/agent/held", "/agent/failed"} {
		if w := f.do(t, alice, "GET", p, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "Aucun message") {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	rec, err := f.svc.Accept(t.Context(), ticket.Delivery{Raw: []byte("From: x@y.test\r\nSubject: s\r\n\r\nbody <b>\r\n"),
		Env: ticket.Envelope{From: "x@y.test", Channel: "smtp"}, ParseErr: errors.New("unreadable MIME")})
	if err != nil {
		t.Fatal(err)
	}
	if w := f.do(t, alice, "GET", "/agent/failed", nil); !strings.Contains(w.Body.String(), "x@y.test") ||
		!strings.Contains(w.Body.String(), fmt.Sprintf(`href="/inbound/%d/raw"`, rec.InboundID)) {
		t.Errorf("failed list lacks the message (state %s)", rec.State)
	}
	w := f.do(t, alice, "GET", fmt.Sprintf("/inbound/%d/raw", rec.InboundID), nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") || !strings.Contains(w.Body.String(), "body <b>") {
		t.Errorf("raw: %d %v", w.Code, w.Header())
	}
	if w := f.do(t, alice, "GET", "/inbound/99999/raw", nil); w.Code != 404 {
		t.Errorf("missing raw: %d", w.Code)
	}
}
