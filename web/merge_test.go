package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

// TestMergeFromPortal: an agent merges a duplicate by its key from the ticket's agent
// tools; refusals are said at the field; the merged ticket shows where it went.
func TestMergeFromPortal(t *testing.T) {
	f := newPortal(t, Options{})
	alice, jeanne := f.login(t, "alice"), f.login(t, "jeanne")
	dup, err := f.svc.CreateTicket(context.Background(), f.users["alice"], ticket.TicketRequest{
		Requester: ticket.Address{Email: "jeanne@ecole.test"},
		NewTicket: ticket.NewTicket{Summary: "Doublon", Description: "Même problème.", UAI: "0690026D", Source: ticket.SourcePhone}})
	if err != nil {
		t.Fatal(err)
	}
	page := f.do(t, alice, "GET", "/requests/"+dup.Key, nil).Body.String()
	if !strings.Contains(page, `<label for="merge-into">Fusionner dans la demande`) {
		t.Fatal("the agent tools offer no merge")
	}
	if strings.Contains(f.do(t, jeanne, "GET", "/requests/"+dup.Key, nil).Body.String(), "merge-into") {
		t.Fatal("a customer is offered the merge")
	}
	if rec := f.do(t, jeanne, "POST", "/requests/"+dup.Key+"/merge", url.Values{"into": {f.jeanneKey}}); rec.Code != http.StatusNotFound {
		t.Fatalf("a customer merged: %d", rec.Code)
	}
	for into, want := range map[string]string{
		dup.Key:     "une demande ne peut pas être fusionnée avec elle-même",
		"AURAN1-99": "aucune demande AURAN1-99",
		f.eveKey:    f.eveKey + " n&#39;est pas du même établissement",
	} {
		rec := f.do(t, alice, "POST", "/requests/"+dup.Key+"/merge", url.Values{"into": {into}})
		if body := rec.Body.String(); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, want) || !strings.Contains(body, `id="merge-into-error"`) {
			t.Errorf("merge into %s: %d, want %q at the field", into, rec.Code, want)
		}
	}
	rec := f.do(t, alice, "POST", "/requests/"+dup.Key+"/merge", url.Values{"into": {strings.ToLower(f.jeanneKey)}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/requests/"+f.jeanneKey {
		t.Fatalf("merge: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	target := f.do(t, jeanne, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	if !strings.Contains(target, "["+dup.Key+"] Doublon") || !strings.Contains(target, "La demande "+dup.Key+" y a été fusionnée") {
		t.Fatal("the target does not show the merged request")
	}
	old := f.do(t, jeanne, "GET", "/requests/"+dup.Key, nil).Body.String()
	if !strings.Contains(old, "Cette demande a été fusionnée dans la demande <a href=\"/requests/"+f.jeanneKey+"\">") {
		t.Fatal("the merged ticket does not say where it went")
	}
}
