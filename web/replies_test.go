package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSavedRepliesPage: an agent adds, lists, edits and deletes saved replies; a refused
// field is named in the error summary and at the field; customers get the portal's 404.
func TestSavedRepliesPage(t *testing.T) {
	f := newPortal(t, Options{})
	alice, jeanne := f.login(t, "alice"), f.login(t, "jeanne")

	if rec := f.do(t, jeanne, "GET", "/agent/replies", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("a customer opened the saved replies: %d", rec.Code)
	}
	if rec := f.do(t, jeanne, "POST", "/agent/replies", url.Values{"name": {"x"}, "body_fr": {"y"}}); rec.Code != http.StatusNotFound {
		t.Fatalf("a customer saved a reply: %d", rec.Code)
	}
	page := f.do(t, alice, "GET", "/agent/replies", nil).Body.String()
	for _, want := range []string{"<h1>Réponses enregistrées</h1>", "Aucune réponse enregistrée", `<label for="r-name">Nom`, `<label for="r-body-fr">Texte en français`, "Nouvelle réponse enregistrée"} {
		if !strings.Contains(page, want) {
			t.Errorf("empty page lacks %q", want)
		}
	}
	// A name with a space is refused, the error linked to its field, the text kept.
	rec := f.do(t, alice, "POST", "/agent/replies", url.Values{"name": {"mot de passe"}, "body_fr": {"Bonjour {demandeur}"}})
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `<a href="#r-name">Nom</a> : lettres minuscules`) ||
		!strings.Contains(body, `id="r-name-error"`) || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "Bonjour {demandeur}</textarea>") {
		t.Fatalf("refused name: %d\n%s", rec.Code, body)
	}
	rec = f.do(t, alice, "POST", "/agent/replies", url.Values{"name": {"mdp"}, "title": {"Mot de passe oublié"},
		"body_fr": {"Bonjour {demandeur},\nvotre mot de passe ({cle}) est réinitialisé."}, "body_en": {"Hello {requester},\nyour password ({key}) is reset."}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	page = f.do(t, alice, "GET", "/agent/replies", nil).Body.String()
	if !strings.Contains(page, "#modele mdp") || !strings.Contains(page, "Mot de passe oublié") || !strings.Contains(page, `href="/agent/replies/mdp"`) {
		t.Fatalf("list lacks the reply:\n%s", page)
	}
	edit := f.do(t, alice, "GET", "/agent/replies/mdp", nil).Body.String()
	if !strings.Contains(edit, "Modifier la réponse « mdp »") || !strings.Contains(edit, `value="Mot de passe oublié"`) {
		t.Fatalf("edit form:\n%s", edit)
	}
	if rec := f.do(t, alice, "GET", "/agent/replies/absente", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown reply: %d", rec.Code)
	}

	// On the ticket, the comment box offers it; "Insérer la réponse" (a GET with what was
	// typed) comes back with the reply filled in, after the text.
	tp := f.do(t, alice, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	if !strings.Contains(tp, `<label for="comment-reply">Réponse enregistrée</label>`) || !strings.Contains(tp, `<option value="mdp">Mot de passe oublié</option>`) {
		t.Fatalf("the comment box offers no saved reply:\n%s", tp)
	}
	if strings.Contains(f.do(t, jeanne, "GET", "/requests/"+f.jeanneKey, nil).Body.String(), "comment-reply") {
		t.Fatal("a customer's comment box offers saved replies")
	}
	tp = f.do(t, alice, "GET", "/requests/"+f.jeanneKey+"?reply=mdp&body=Re-bonjour", nil).Body.String()
	if !strings.Contains(tp, "Re-bonjour\n\nBonjour Jeanne Martin,\nvotre mot de passe ("+f.jeanneKey+") est réinitialisé.</textarea>") {
		t.Fatalf("inserted reply missing:\n%s", tp)
	}
	tp = f.do(t, alice, "GET", "/requests/"+f.jeanneKey+"?reply=absente&body=Texte", nil).Body.String()
	if !strings.Contains(tp, "réponse enregistrée inconnue : absente") || !strings.Contains(tp, "Texte</textarea>") {
		t.Fatalf("unknown reply on insert:\n%s", tp)
	}
	// Typed as a line, it is expanded when the comment is posted; an unknown one is refused.
	rec = f.do(t, alice, "POST", "/requests/"+f.jeanneKey+"/comments", url.Values{"body": {"#modele absente"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "réponse enregistrée inconnue : absente") {
		t.Fatalf("unknown #modele posted: %d", rec.Code)
	}
	if rec := f.do(t, alice, "POST", "/requests/"+f.jeanneKey+"/comments", url.Values{"body": {"#modele mdp"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("comment: %d", rec.Code)
	}
	if tp := f.do(t, jeanne, "GET", "/requests/"+f.jeanneKey, nil).Body.String(); !strings.Contains(tp, "votre mot de passe ("+f.jeanneKey+") est réinitialisé.") {
		t.Fatal("the expanded reply is not on the requester's page")
	}

	if rec := f.do(t, alice, "POST", "/agent/replies/mdp/delete", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", rec.Code)
	}
	if page := f.do(t, alice, "GET", "/agent/replies", nil).Body.String(); strings.Contains(page, "#modele mdp") {
		t.Fatal("deleted reply still listed")
	}
}
