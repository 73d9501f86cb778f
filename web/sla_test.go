package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSLAShownToAgents: agents see each ticket's pending target on the list (the "Échéance"
// column) and both targets on the ticket; customers see neither. The answer of an agent
// meets the first-response target.
func TestSLAShownToAgents(t *testing.T) {
	f := newPortal(t, Options{})
	alice, jeanne := f.login(t, "alice"), f.login(t, "jeanne")

	list := f.do(t, alice, "GET", "/requests", nil).Body.String()
	for _, want := range []string{`<th scope="col">Échéance</th>`, "Première réponse : reste 8 h", `data-label="Échéance"`} {
		if !strings.Contains(list, want) {
			t.Errorf("agent's list lacks %q", want)
		}
	}
	page := f.do(t, alice, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	for _, want := range []string{"<dt>Première réponse</dt>", "reste 8 h", "<dt>Résolution</dt>", "reste 40 h", "échéance le "} {
		if !strings.Contains(page, want) {
			t.Errorf("agent's ticket page lacks %q", want)
		}
	}
	for name, body := range map[string]string{
		"list":   f.do(t, jeanne, "GET", "/requests", nil).Body.String(),
		"ticket": f.do(t, jeanne, "GET", "/requests/"+f.jeanneKey, nil).Body.String(),
	} {
		for _, not := range []string{"Échéance", "Première réponse", "reste 8 h"} {
			if strings.Contains(body, not) {
				t.Errorf("customer's %s shows %q", name, not)
			}
		}
	}

	// Alice answers publicly: the first response is met, the resolution now matters.
	rec := f.do(t, alice, "POST", "/requests/"+f.jeanneKey+"/comments", url.Values{"body": {"Bonjour, c'est réglé ?"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("comment: %d %s", rec.Code, rec.Body)
	}
	page = f.do(t, alice, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	if !strings.Contains(page, "respecté (") {
		t.Errorf("after the answer the first response is not met:\n%s", page)
	}
}

// TestSLASortInList: agents order the list by nearest deadline; the choice stays in the
// page links; customers are not offered it and their ?sort=due changes nothing.
func TestSLASortInList(t *testing.T) {
	f := newPortal(t, Options{})
	alice, jeanne := f.login(t, "alice"), f.login(t, "jeanne")
	page := f.do(t, alice, "GET", "/requests?sort=due", nil).Body.String()
	if !strings.Contains(page, `<label for="filter-sort">Ordre</label>`) || !strings.Contains(page, `<option value="due" selected>Échéance la plus proche</option>`) {
		t.Fatalf("agent's list offers no sort by deadline:\n%s", page)
	}
	if !strings.Contains(page, f.jeanneKey) || !strings.Contains(page, "Première réponse : reste") {
		t.Fatal("the deadline view lacks the open tickets")
	}
	cust := f.do(t, jeanne, "GET", "/requests?sort=due", nil)
	if cust.Code != http.StatusOK || strings.Contains(cust.Body.String(), "filter-sort") {
		t.Fatalf("customer's list with sort=due: %d", cust.Code)
	}
}
