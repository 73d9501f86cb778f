package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/guichet/guichet/ticket"
)

// findChromium returns the browser for the end-to-end tests: GUICHET_TEST_CHROMIUM,
// else the first of chromium, chromium-browser and google-chrome found.
func findChromium() string {
	if p := os.Getenv("GUICHET_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// browser drives one headless Chromium tab against a portal and keeps screenshots.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	n     int
	axe   string // axe-core's script (GUICHET_TEST_AXE); "" skips the accessibility checks
	// axeChecked counts the pages axe-core checked.
	axeChecked int
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	return newBrowserFor(t, base, 3*time.Minute)
}

// newBrowserFor is newBrowser for a test that may take up to limit.
func newBrowserFor(t *testing.T, base string, limit time.Duration) *browser {
	t.Helper()
	bin := findChromium()
	if bin == "" {
		t.Skip("no chromium found (install it with .ci/chromium.sh, or set GUICHET_TEST_CHROMIUM): browser tests skipped")
	}
	shots := os.Getenv("GUICHET_SCREENSHOTS")
	if shots == "" {
		shots = t.ArtifactDir() // kept with go test -artifacts -outputdir DIR
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "fr-FR"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium %s: %v", bin, err)
	}
	t.Logf("screenshots in %s", shots)
	return &browser{t: t, ctx: ctx, base: base, shots: shots, axe: loadAxe(t)}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// open loads a page of the portal.
func (b *browser) open(path string) { b.t.Helper(); b.do(chromedp.Navigate(b.base + path)) }

// submit clicks a button that posts a form and waits for the next page.
func (b *browser) submit(button string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second) // a form the browser refuses to send never loads
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
		b.t.Fatalf("submit %s: %v", button, err)
	}
}

func (b *browser) set(css, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(css), value))
}

func (b *browser) text(css string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func (b *browser) value(css string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("value of %s: %v", css, err)
	}
	return s
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("eval %s: %v", js, err)
	}
	return s
}

// body is the text of the page's main element.
func (b *browser) body() string { b.t.Helper(); return b.text("main") }

func (b *browser) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(s, b.base)
}

// shot saves a full-page screenshot as NN-name.png, after checking the page with
// axe-core (when GUICHET_TEST_AXE is set).
func (b *browser) shot(name string) {
	b.t.Helper()
	b.checkA11y(name)
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.n++
	file := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) login(email string) {
	b.t.Helper()
	b.open("/login")
	b.set("#login-email", email)
	b.set("#login-password", testPassword)
	b.submit("form[action='/login'] button[type=submit]")
}

func (b *browser) mustContain(what string, wants ...string) {
	b.t.Helper()
	body := b.body()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			b.t.Errorf("%s: page lacks %q", what, w)
		}
	}
}

// TestBrowser walks the guide's flow in headless Chromium: sign in, a request with a
// file (a wrong UAI first), the list with each filter, a comment, a participant, the
// time zone, then an agent who answers and closes.
func TestBrowser(t *testing.T) {
	f := newPortal(t, Options{})
	ctx := context.Background()
	tp, err := f.svc.CreateTicket(ctx, f.users["paul"], ticket.TicketRequest{NewTicket: ticket.NewTicket{
		Summary: "Tableau numérique en salle 4", Description: "Écran noir", UAI: "0690026D", RequestType: "Demande d'assistance"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddParticipant(ctx, f.users["paul"], tp.Key, ticket.Address{Email: "jeanne@ecole.test"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	b := newBrowser(t, srv.URL)

	// Signed out: every page sends to sign-in, then back (as from a notification link).
	b.open("/requests/new")
	if loc := b.location(); !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("not sent to sign-in: %s", loc)
	}
	b.shot("login")
	b.set("#login-email", "jeanne@ecole.test")
	b.set("#login-password", testPassword)
	b.submit("form[action='/login'] button[type=submit]")
	if loc := b.location(); loc != "/requests/new" {
		t.Fatalf("after sign-in: %s", loc)
	}
	b.open("/")
	if nav := b.text("header nav"); !strings.Contains(nav, "Se déconnecter") || !strings.Contains(nav, "Profil") {
		t.Errorf("navigation: %q", nav)
	}
	b.mustContain("home", "Bienvenue sur le portail d'assistance ma classe en Auvergne-Rhône-Alpes — Assistance ENT !", "Formulaire d'assistance", "Demandes", "Profil")
	b.shot("home")
	b.open("/requests/new")

	// The form: a wrong UAI first; the error names the field and nothing is lost.
	b.shot("request-form")
	file := filepath.Join(t.TempDir(), "capture-ecran.txt")
	os.WriteFile(file, []byte("journal de l'erreur"), 0o644)
	b.set("#f-summary", "Le wifi du CDI ne marche plus")
	b.set("#f-uai", "0690026E")
	b.set("#f-url", "https://ent.example/cdi")
	b.set("#f-academie", "Lyon")
	b.set("#f-description", "Depuis ce matin,\naucun poste ne se connecte.")
	b.do(chromedp.Click(chromedp.CSS("#f-components-0")))
	b.set("#f-phone", "04 72 00 00 00")
	b.set("#f-incident-start", "ce matin vers 8 h")
	b.set("#f-affected-users", "Tous les élèves de 3e")
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#f-attachments"), []string{file}))
	if n := b.eval(`String(document.querySelectorAll("[data-picked] li").length)`); n != "1" {
		t.Errorf("the script did not list the chosen file (%s)", n)
	}
	b.submit("form.request-form button[type=submit]")
	errText := b.text("#f-uai-error")
	if !strings.Contains(errText, "lettre de contrôle") {
		t.Errorf("UAI error: %q", errText)
	}
	if d := b.eval(`document.getElementById("f-uai").getAttribute("aria-describedby")`); !strings.Contains(d, "f-uai-error") {
		t.Errorf("aria-describedby %q", d)
	}
	if v := b.value("#f-summary"); v != "Le wifi du CDI ne marche plus" {
		t.Errorf("summary lost: %q", v)
	}
	if v := b.value("#f-description"); !strings.Contains(v, "aucun poste") {
		t.Errorf("description lost: %q", v)
	}
	if v := b.value("#f-uai"); v != "0690026E" {
		t.Errorf("typed UAI lost: %q", v)
	}
	if v := b.value("#f-academie"); v != "Lyon" {
		t.Errorf("académie lost: %q", v)
	}
	b.mustContain("form with errors", "capture-ecran.txt", "corrigez les champs")
	b.shot("request-form-wrong-uai")
	b.set("#f-uai", "0690026D")
	b.submit("form.request-form button[type=submit]")
	loc := b.location()
	key := strings.TrimPrefix(loc, "/requests/")
	if !strings.HasPrefix(key, "AURAN1-") {
		t.Fatalf("not on the ticket: %s", loc)
	}
	b.mustContain("summary", "Nouveau", key, "Jeanne Martin", "Ajouter des participants", "capture-ecran.txt", "bien été enregistrée", "Lyon", "ENT")
	b.shot("ticket-created")

	// The list, with each filter.
	for _, tc := range []struct {
		name, query string
		want, not   []string
	}{
		{"mine", "scope=mine", []string{key, f.jeanneKey}, []string{tp.Key}},
		{"participant", "scope=participant", []string{tp.Key}, []string{key}},
		{"establishment", "scope=establishment", []string{key, tp.Key, f.jeanneKey, "1-3 de 3"}, []string{f.eveKey}},
		{"status", "scope=establishment&status=new", []string{key}, nil},
		{"type", "scope=establishment&type=Demande+d%27assistance", []string{tp.Key}, []string{key}},
		{"search", "scope=establishment&q=connecte", []string{key, "1-1 de 1"}, []string{tp.Key}},
	} {
		b.open("/requests?" + tc.query)
		body := b.body()
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("list %s lacks %s", tc.name, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("list %s has %s", tc.name, n)
			}
		}
		b.shot("list-" + tc.name)
	}
	// The filters form itself, as a person uses it.
	b.open("/requests")
	b.do(chromedp.Click(chromedp.CSS("#scope-establishment")))
	b.set("#filter-q", "numérique")
	b.submit("form.filters button[type=submit]")
	if body := b.body(); !strings.Contains(body, tp.Key) || strings.Contains(body, key) {
		t.Error("filter form: wrong rows")
	}

	// A comment with a file dropped on the zone (the script's drag and drop).
	b.open("/requests/" + key)
	b.set("#comment-body", "Le problème continue cet après-midi.")
	n := b.eval(`(function(){const dt=new DataTransfer();dt.items.add(new File(["capture"],"depot.png",{type:"image/png"}));
		const z=document.querySelector("form[action$='/comments'] [data-dropzone]");
		z.dispatchEvent(new DragEvent("drop",{dataTransfer:dt,bubbles:true,cancelable:true}));
		return String(z.querySelector("input[type=file]").files.length)})()`)
	if n != "1" {
		t.Errorf("dropped file not added to the input: %s", n)
	}
	b.submit("form[action$='/comments'] button[type=submit]")
	b.mustContain("comment", "Le problème continue cet après-midi.", "depot.png", "commentaire a été ajouté")
	b.shot("ticket-commented")
	// A comment's files are a bulleted list, without the rule of an activity entry.
	if s := b.eval(`(function(){const c=getComputedStyle(document.querySelector(".activity .files li"));return c.borderLeftStyle+" "+c.display})()`); s != "none list-item" {
		t.Errorf("a comment's file is drawn as %q, want a bullet and no rule", s)
	}

	// Participants: someone from elsewhere is refused, a colleague is added.
	b.set("#participant-email", "eve@ailleurs.test")
	b.submit("form[action$='/participants'] button[type=submit]")
	if e := b.text("#participant-email-error"); !strings.Contains(e, "ne peut pas être ajoutée") {
		t.Errorf("refusal: %q", e)
	}
	b.shot("participant-refused")
	b.set("#participant-email", "paul@ecole.test")
	b.submit("form[action$='/participants'] button[type=submit]")
	if p := b.text(".people"); !strings.Contains(p, "Paul Durand") {
		t.Errorf("participants: %q", p)
	}
	b.shot("participant-added")

	// The time zone moves the dates.
	before := b.text(".ticket-head time")
	b.open("/profile")
	b.shot("profile")
	b.set("#p-tz", "Pacific/Auckland")
	b.submit("form[action='/profile'] button[type=submit]")
	b.mustContain("profile saved", "Profil enregistré")
	b.open("/requests/" + key)
	after := b.text(".ticket-head time")
	if before == after {
		t.Errorf("dates did not change with the zone: %s", after)
	}
	b.mustContain("zone", "Pacific/Auckland")
	b.shot("ticket-other-time-zone")
	t.Logf("created at %s in Paris, %s in Auckland", before, after)

	// Sign out; the agent answers and closes.
	b.submit("form[action='/logout'] button")
	b.login("alice@support.test")
	b.open("/requests?scope=unassigned")
	b.mustContain("agent list", key, "Non assignées", "Assignées à moi")
	b.shot("agent-list")
	b.open("/requests/" + key)
	b.submit("button[name=me]")
	b.set("#comment-body", "Nous avons redémarré la borne : pouvez-vous vérifier ?")
	b.submit("form[action$='/comments'] button[type=submit]")
	b.mustContain("agent answer", "redémarré la borne", "En attente utilisateur", "Alice Agent")
	b.set("#comment-body", "Borne n°3 remplacée la semaine dernière.")
	b.do(chromedp.Click(chromedp.CSS("#comment-internal")))
	b.submit("form[action$='/comments'] button[type=submit]")
	b.mustContain("internal note", "Note interne")
	b.set("#status-select", "closed")
	b.submit("form[action$='/status'] button[type=submit]")
	b.mustContain("closed", "Fermé", "Statut : En attente utilisateur → Fermé")
	b.shot("agent-closed")
	b.open("/agent/phone")
	b.shot("agent-phone")
	b.open("/agent/held")
	b.shot("agent-held")

	// The requester sees the answer, not the note.
	b.submit("form[action='/logout'] button")
	b.login("jeanne@ecole.test")
	b.open("/requests/" + key)
	body := b.body()
	if !strings.Contains(body, "redémarré la borne") || strings.Contains(body, "Borne n°3") {
		t.Error("requester view: answer missing or internal note shown")
	}

	// A phone-sized screen.
	b.do(chromedp.EmulateViewport(390, 844))
	b.open("/requests?scope=establishment")
	b.shot("list-phone")
	b.open("/requests/" + key)
	b.shot("ticket-phone")
	b.open("/requests/new")
	b.shot("request-form-phone")
	if w := b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth + 1)`); w != "true" {
		t.Error("the form scrolls sideways on a phone")
	}
}
