package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// TestSatisfactionPages: the rating link of a closing shows the question with the answer
// preselected and records nothing; only the POST records, and changes, the rating;
// forged, altered and expired links get a clear page and record nothing; hostile answers
// are refused at their field; the ticket page shows the rating to agents and to the
// requester, not to another customer; agents get the report, customers a 404.
func TestSatisfactionPages(t *testing.T) {
	ctx := context.Background()
	f := newPortal(t, Options{})
	alice, jeanne, paul := f.login(t, "alice"), f.login(t, "jeanne"), f.login(t, "paul")
	agentU, jeanneU := f.users["alice"], f.users["jeanne"]
	if err := f.svc.ChangeStatus(ctx, agentU, f.jeanneKey, ticket.StatusClosed); err != nil {
		t.Fatal(err)
	}
	mine, err := f.svc.RatingsOf(ctx, jeanneU, f.jeanneKey)
	if err != nil || mine.RateURL == "" {
		t.Fatalf("no rating link for the requester: %+v %v", mine, err)
	}
	link := strings.TrimPrefix(mine.RateURL, "http://127.0.0.1:8080")
	lu, _ := url.Parse(link)
	form := func(score, comment string) url.Values {
		return url.Values{"a": {lu.Query().Get("a")}, "t": {lu.Query().Get("t")}, "score": {score}, "comment": {comment}}
	}
	count := func() []ticket.Rating {
		t.Helper()
		rs, err := f.svc.RatingsOf(ctx, agentU, f.jeanneKey)
		if err != nil {
			t.Fatal(err)
		}
		return rs.Ratings
	}

	// A mail scanner (no session) opens every answer's link: a form, nothing recorded.
	for _, n := range []string{"1", "2", "3", "4", "5", "", "9"} {
		rec := f.do(t, nil, "GET", link+"&n="+n, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, "<legend>Êtes-vous satisfait(e) de la réponse apportée à votre demande ?") ||
			!strings.Contains(body, `<label for="rating-comment">Commentaire`) || !strings.Contains(body, "Enregistrer mon avis</button>") ||
			!strings.Contains(body, `<label for="rating-5">Très satisfait(e)</label>`) || !strings.Contains(body, `<label for="rating-1">Très insatisfait(e)</label>`) {
			t.Fatalf("GET n=%s: %d\n%s", n, rec.Code, body)
		}
		checked := strings.Count(body, " checked>")
		if want := `value="` + n + `" required checked>`; n != "" && n != "9" && !strings.Contains(body, want) || checked > 1 || (n == "" || n == "9") && checked != 0 {
			t.Errorf("GET n=%s: wrong preselection (%d checked)", n, checked)
		}
	}
	if rs := count(); len(rs) != 0 {
		t.Fatalf("a GET recorded a rating: %+v", rs)
	}

	// The POST records; a second one within 7 days changes it.
	rec := f.do(t, nil, "POST", "/requests/"+f.jeanneKey+"/satisfaction", form("2", "Trop long à venir."))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Merci ! Votre avis est enregistré.") ||
		!strings.Contains(rec.Body.String(), `value="2" required checked>`) || !strings.Contains(rec.Body.String(), "Modifier mon avis") {
		t.Fatalf("POST: %d\n%s", rec.Code, rec.Body)
	}
	if rs := count(); len(rs) != 1 || rs[0].Score != 2 || rs[0].Comment != "Trop long à venir." || rs[0].AgentEmail != "alice@support.test" {
		t.Fatalf("recorded: %+v", rs)
	}
	if rec := f.do(t, nil, "POST", "/requests/"+f.jeanneKey+"/satisfaction", form("5", "Finalement parfait.")); rec.Code != http.StatusOK {
		t.Fatalf("change: %d\n%s", rec.Code, rec.Body)
	}
	if rs := count(); len(rs) != 1 || rs[0].Score != 5 || rs[0].Comment != "Finalement parfait." {
		t.Fatalf("changed: %+v", rs)
	}
	// Opened again, the page shows the answer given.
	if body := f.do(t, nil, "GET", link, nil).Body.String(); !strings.Contains(body, `value="5" required checked>`) || !strings.Contains(body, "Finalement parfait.</textarea>") {
		t.Fatalf("the page does not show the rating given:\n%s", body)
	}

	// Hostile answers: refused at their field, nothing changed.
	for _, tc := range []struct {
		name, score, comment, want string
		code                       int
	}{
		{"score out of range", "9", "", `<a href="#rating-score">`, http.StatusUnprocessableEntity},
		{"no score", "", "", `<a href="#rating-score">`, http.StatusUnprocessableEntity},
		{"negative score", "-1", "", `<a href="#rating-score">`, http.StatusUnprocessableEntity},
		{"NUL byte", "3", "a\x00b", `<a href="#rating-comment">`, http.StatusUnprocessableEntity},
		{"long comment", "3", strings.Repeat("x", ticket.RatingCommentMax+1), "4 000 caractères au plus", http.StatusUnprocessableEntity},
		{"huge body", "3", strings.Repeat("x", 200<<10), "", http.StatusRequestEntityTooLarge},
	} {
		rec := f.do(t, nil, "POST", "/requests/"+f.jeanneKey+"/satisfaction", form(tc.score, tc.comment))
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d\n%.2000s", tc.name, rec.Code, rec.Body)
		}
	}
	if rs := count(); len(rs) != 1 || rs[0].Score != 5 {
		t.Fatalf("a refused answer changed the rating: %+v", rs)
	}

	// Forged and altered links: a clear page, nothing recorded.
	tok := lu.Query().Get("t")
	// The signature's last character changed (to another one: a token ending in "a" once
	// stayed valid).
	altered := tok[:len(tok)-1] + "a"
	if strings.HasSuffix(tok, "a") {
		altered = tok[:len(tok)-1] + "b"
	}
	alter := func(key, a, tk string) string {
		return "/requests/" + key + "/satisfaction?a=" + url.QueryEscape(a) + "&t=" + url.QueryEscape(tk)
	}
	for _, tc := range []struct{ name, target string }{
		{"other ticket", alter(f.eveKey, "jeanne@ecole.test", tok)},
		{"other recipient", alter(f.jeanneKey, "paul@ecole.test", tok)},
		{"altered signature", alter(f.jeanneKey, "jeanne@ecole.test", altered)},
		{"no token", alter(f.jeanneKey, "jeanne@ecole.test", "")},
		{"garbage token", alter(f.jeanneKey, "jeanne@ecole.test", "\x00<script>")},
		{"signed for a participant", alter(f.jeanneKey, "paul@ecole.test",
			f.svc.RatingToken(f.jeanneKey, "paul@ecole.test", time.Now().Add(-time.Hour), agentU.ID))},
	} {
		rec := f.do(t, nil, "GET", tc.target+"&n=1", nil)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Lien non valide") {
			t.Errorf("%s: GET %d\n%.1500s", tc.name, rec.Code, rec.Body)
		}
		u, _ := url.Parse(tc.target)
		post := url.Values{"a": {u.Query().Get("a")}, "t": {u.Query().Get("t")}, "score": {"1"}}
		rec = f.do(t, nil, "POST", u.Path, post)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Lien non valide") {
			t.Errorf("%s: POST %d\n%.1500s", tc.name, rec.Code, rec.Body)
		}
	}
	// A genuine link of a closing more than 7 days ago (replayed): too late, said clearly.
	old := strings.TrimPrefix(f.svc.RatingURL(f.jeanneKey, "jeanne@ecole.test", time.Now().Add(-ticket.RatingWindow-time.Minute), agentU.ID, 1),
		"http://127.0.0.1:8080")
	rec = f.do(t, nil, "GET", old, nil)
	if rec.Code != http.StatusGone || !strings.Contains(rec.Body.String(), "Il est trop tard pour donner votre avis") ||
		!strings.Contains(rec.Body.String(), "pendant 7 jours après la fermeture") {
		t.Fatalf("expired link: %d\n%s", rec.Code, rec.Body)
	}
	ou, _ := url.Parse(old)
	rec = f.do(t, nil, "POST", ou.Path, url.Values{"a": {ou.Query().Get("a")}, "t": {ou.Query().Get("t")}, "score": {"1"}})
	if rec.Code != http.StatusGone {
		t.Fatalf("expired link, POST: %d", rec.Code)
	}
	en := f.do(t, nil, "GET", old, nil, "Accept-Language", "en")
	if !strings.Contains(en.Body.String(), "It is too late to give your rating") {
		t.Fatalf("expired link in English:\n%s", en.Body)
	}
	if rs := count(); len(rs) != 1 {
		t.Fatalf("refused links recorded: %+v", rs)
	}

	// The ticket page.
	page := f.do(t, jeanne, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	if !strings.Contains(page, `<h2 id="rating-title">Satisfaction</h2>`) || !strings.Contains(page, "Très satisfait(e)") ||
		!strings.Contains(page, "Finalement parfait.") || !strings.Contains(page, "Modifier mon avis</a>") {
		t.Fatalf("the requester's ticket page lacks her rating:\n%s", page)
	}
	if strings.Contains(page, "pour Alice") {
		t.Error("the requester's page names the agent rated")
	}
	if page := f.do(t, paul, "GET", "/requests/"+f.jeanneKey, nil); page.Code == http.StatusOK && strings.Contains(page.Body.String(), "rating-title") {
		t.Fatal("another customer sees the requester's rating")
	}
	page = f.do(t, alice, "GET", "/requests/"+f.jeanneKey, nil).Body.String()
	if !strings.Contains(page, "Finalement parfait.") || !strings.Contains(page, "pour Alice Agent") || strings.Contains(page, "mon avis</a>") ||
		!strings.Contains(page, "Avis de satisfaction : Très satisfait(e)") {
		t.Fatalf("the agent's ticket page lacks the rating:\n%s", page)
	}

	// The report.
	if rec := f.do(t, jeanne, "GET", "/agent/satisfaction", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("a customer opened the report: %d", rec.Code)
	}
	rep := f.do(t, alice, "GET", "/agent/satisfaction", nil).Body.String()
	for _, want := range []string{`href="/agent/satisfaction" aria-current="page"`, "<h1>Satisfaction des demandeurs</h1>",
		`<label for="sat-from">Du`, "<h2 id=\"sat-desks\">Par service</h2>", "<h2 id=\"sat-agents\">Par agent</h2>",
		`<th scope="row">Alice Agent</th>`, "5,0 / 5", "1 (100 %)", "Finalement parfait.", `href="/requests/` + f.jeanneKey + `"`} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Signed out, the page speaks the requester's language (that of the mail), whatever
	// the browser asks.
	f.setLang(t, "jeanne", "en")
	if body := f.do(t, nil, "GET", link, nil, "Accept-Language", "fr").Body.String(); !strings.Contains(body, "<legend>Are you satisfied with the answer given to your request?") ||
		!strings.Contains(body, `<html lang="en">`) {
		t.Errorf("the page is not in the requester's language:\n%.1500s", body)
	}

	// The dashboard sums it up, with a link to the report.
	dash := f.do(t, alice, "GET", "/agent/dashboard", nil).Body.String()
	if !strings.Contains(dash, "<dt>Satisfaction moyenne</dt><dd>5,0 / 5 <span class=\"hint\">(sur 1 avis)</span>") || !strings.Contains(dash, `<a href="/agent/satisfaction">`) {
		t.Errorf("the dashboard lacks the satisfaction:\n%s", dash)
	}
	if rec := f.do(t, alice, "GET", "/agent/satisfaction?from=2020-01-01&to=2020-01-31", nil); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), "Aucun avis donné pendant cette période.") {
		t.Fatalf("empty period: %d\n%s", rec.Code, rec.Body)
	}
	for _, q := range []string{"from=hier", "from=2026-12-08&to=2026-12-01", "to=20261201"} {
		if rec := f.do(t, alice, "GET", "/agent/satisfaction?"+q, nil); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Période non valide") {
			t.Errorf("period %s: %d", q, rec.Code)
		}
	}
}

// FuzzRatingPage: whatever key, address, token, answer and comment the rating page is
// sent, by GET or POST, it answers without a server error; a GET records nothing, and a
// rating is recorded only through the genuine link, with a score of 1 to 5 and a comment
// within its rules.
func FuzzRatingPage(fz *testing.F) {
	ctx := context.Background()
	f := newPortal(fz, Options{})
	agentU := f.users["alice"]
	if err := f.svc.ChangeStatus(ctx, agentU, f.jeanneKey, ticket.StatusClosed); err != nil {
		fz.Fatal(err)
	}
	mine, err := f.svc.RatingsOf(ctx, f.users["jeanne"], f.jeanneKey)
	if err != nil || mine.RateURL == "" {
		fz.Fatalf("no rating link: %v", err)
	}
	lu, _ := url.Parse(mine.RateURL)
	a, tok := lu.Query().Get("a"), lu.Query().Get("t")
	fz.Add(true, f.jeanneKey, a, tok, "4", "Merci")
	fz.Add(false, f.jeanneKey, a, tok, "2", "")
	fz.Add(true, strings.ToLower(f.jeanneKey), strings.ToUpper(a), tok, "5", "a\x00b")
	fz.Add(true, f.eveKey, a, tok, "1", "")
	fz.Add(true, f.jeanneKey, "paul@ecole.test", tok, "3", "")
	fz.Add(true, f.jeanneKey, a, tok[:len(tok)-2]+"zz", "3", "")
	fz.Add(true, f.jeanneKey, a, tok, "06", strings.Repeat("é", 3000))
	fz.Add(true, "../../agent", a, "1.1."+strings.Repeat("a", 24), "1e3", "\xff")
	fz.Fuzz(func(t *testing.T, post bool, key, addr, token, score, comment string) {
		before, err := f.svc.RatingsOf(ctx, agentU, f.jeanneKey)
		if err != nil {
			t.Fatal(err)
		}
		target := "/requests/" + url.PathEscape(key) + "/satisfaction"
		var r *http.Request
		if post {
			body := url.Values{"a": {addr}, "t": {token}, "score": {score}, "comment": {comment}}.Encode()
			r = httptest.NewRequest("POST", target, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest("GET", target+"?"+url.Values{"a": {addr}, "t": {token}, "n": {score}}.Encode(), nil)
		}
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d\n%s", r.Method, r.URL, w.Code, w.Body)
		}
		after, err := f.svc.RatingsOf(ctx, agentU, f.jeanneKey)
		if err != nil {
			t.Fatal(err)
		}
		changed := len(after.Ratings) != len(before.Ratings) ||
			len(after.Ratings) > 0 && (after.Ratings[0].UpdatedAt != before.Ratings[0].UpdatedAt || after.Ratings[0].Score != before.Ratings[0].Score)
		if !changed {
			return
		}
		// Fuzzing workers each build their own portal, whose link differs from the seeds'
		// (another closing second) but is signed with the same secret: any link signed
		// for this ticket and requester counts as genuine.
		_, verr := f.svc.VerifyRating(key, addr, token)
		genuine := strings.EqualFold(key, f.jeanneKey) && ticket.NormalizeEmail(addr) == a && verr == nil
		if !post || !genuine || w.Code != http.StatusOK {
			t.Fatalf("%s %q (%d) changed the rating: %+v", r.Method, r.URL, w.Code, after.Ratings)
		}
		got := after.Ratings[0]
		if len(after.Ratings) != 1 || got.Score < 1 || got.Score > 5 || len(got.Comment) > ticket.RatingCommentMax || strings.ContainsRune(got.Comment, 0) {
			t.Fatalf("recorded %+v", after.Ratings)
		}
	})
}

// TestSatisfactionMailLinks: the links of the closing mail as rendered (text and HTML)
// open the rating page with their answer checked; the HTML's are the text's.
func TestSatisfactionMailLinks(t *testing.T) {
	ctx := context.Background()
	f := newPortal(t, Options{})
	if err := f.svc.ChangeStatus(ctx, f.users["alice"], f.jeanneKey, ticket.StatusClosed); err != nil {
		t.Fatal(err)
	}
	ms, err := f.svc.ClaimOutbox(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.New("")
	if err != nil {
		t.Fatal(err)
	}
	var mail *templates.Rendered
	for i := range ms {
		if ms[i].Kind == ticket.MailStatus && ms[i].To.Email == "jeanne@ecole.test" {
			r, err := tpl.RenderMail(&ms[i])
			if err != nil {
				t.Fatal(err)
			}
			mail = &r
		}
	}
	if mail == nil {
		t.Fatal("no closing mail to the requester")
	}
	links := regexp.MustCompile(`http://127\.0\.0\.1:8080(/requests/[^ \n]+/satisfaction\?[^ \n]+)`).FindAllStringSubmatch(mail.Text, -1)
	if len(links) != 6 {
		t.Fatalf("%d rating links in the text part:\n%s", len(links), mail.Text)
	}
	for i, l := range links[:5] {
		n := strconv.Itoa(5 - i)
		if !strings.HasSuffix(l[1], "&n="+n) || !strings.Contains(mail.HTML, `href="`+strings.ReplaceAll(l[0], "&", "&amp;")+`"`) {
			t.Errorf("link %d: %s (not in the HTML part, or not answer %s)", i, l[1], n)
		}
		body := f.do(t, nil, "GET", l[1], nil).Body.String()
		if !strings.Contains(body, `value="`+n+`" required checked>`) {
			t.Errorf("the link of answer %s does not check it", n)
		}
	}
}
