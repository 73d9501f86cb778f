package web

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

// TestDashboardPage: agents see the dashboard (figures, an SVG chart with a title, the
// same figures in a table) and its CSV; customers get the portal's 404.
func TestDashboardPage(t *testing.T) {
	f := newPortal(t, Options{})
	alice, jeanne := f.login(t, "alice"), f.login(t, "jeanne")
	for _, p := range []string{"/agent/dashboard", "/agent/dashboard.csv"} {
		if rec := f.do(t, jeanne, "GET", p, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("a customer opened %s: %d", p, rec.Code)
		}
	}
	page := f.do(t, alice, "GET", "/agent/dashboard?weeks=4", nil).Body.String()
	for _, want := range []string{"<h1>Tableau de bord</h1>", "Demandes par statut (2 en tout)", `role="img"`,
		"<title id=\"dash-chart-title\">", "Délai médian de première réponse", "<caption>Chiffres par semaine</caption>",
		`<option value="4" selected>4 dernières semaines</option>`, `href="/agent/dashboard.csv?weeks=4"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if n := strings.Count(page, "<tr><th scope=\"row\"><time"); n != 4 {
		t.Errorf("%d weeks in the table, want 4", n)
	}
	rec := f.do(t, alice, "GET", "/agent/dashboard.csv?weeks=4", nil)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("CSV content type %q", ct)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || strings.Join(rows[0], ",") != "week_start,created,closed,breaches_first_response,breaches_resolution" {
		t.Fatalf("CSV: %v", rows)
	}
	created := 0
	for _, r := range rows[1:] {
		if r[1] != "0" {
			created++
		}
	}
	if created == 0 {
		t.Fatalf("CSV counts no ticket created: %v", rows)
	}
}

func TestNiceCeil(t *testing.T) {
	for n, want := range map[int]int{0: 4, 1: 4, 4: 4, 5: 8, 9: 20, 20: 20, 21: 40, 399: 400, 401: 800, 46769: 80000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}
