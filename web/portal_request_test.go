package web

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

func TestRequestFormLabels(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	body := f.do(t, c, "GET", "/requests/new", nil).Body.String()
	for label, id := range map[string]string{
		"Objet de la demande": "f-summary", "RNE/UAI": "f-uai", "URL": "f-url", "Académie": "f-academie",
		"Description": "f-description", "Pièces jointes": "f-attachments", "Téléphone de contact": "f-phone",
		"Date de début de l&#39;incident": "f-incident-start", "Utilisateur(s) concerné(s)": "f-affected-users",
	} {
		re := regexp.MustCompile(`<label for="` + id + `">` + regexp.QuoteMeta(label))
		if !re.MatchString(body) || !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("no label %q tied to #%s", label, id)
		}
	}
	for _, want := range []string{"<legend>Composants <span class=\"opt\">(Facultatif)</span></legend>", `value="Messagerie"`, `<option value="Grenoble"`, `type="file"`, "multiple",
		`name="request_id"`, `value="0690026D"`, `enctype="multipart/form-data"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	if strings.Count(body, `required aria-required="true"`) != 3 {
		t.Errorf("three required fields expected")
	}
}

func TestRequestFormErrorsKeepInput(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	form := url.Values{"summary": {"  "}, "uai": {"0690026E"}, "description": {"Le <b>wifi</b>\nne marche plus"},
		"url": {"javascript:alert(1)"}, "academie": {"Paris"}, "components": {"ENT", "Inconnu"},
		"phone": {"04 72 00 00 00"}, "incident_start": {"hier matin"}, "affected_users": {"3e B"}, "request_id": {"rid-1"}}
	w := f.upload(t, c, "/requests/new", form, "attachments", map[string]string{"capture.png": "\x89PNG\r\n\x1a\nfake"})
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("code %d", w.Code)
	}
	body := w.Body.String()
	for field, reason := range map[string]string{
		"f-summary": "Ce champ est obligatoire", "f-uai": "lettre de contrôle", "f-url": "http://",
		"f-academie": "Choisissez une valeur", "f-components": "Choisissez une valeur",
	} {
		if !strings.Contains(body, `id="`+field+`-error"`) || !strings.Contains(body, reason) {
			t.Errorf("%s: no error %q", field, reason)
		}
		if !regexp.MustCompile(`aria-describedby="[^"]*` + field + `-error"`).MatchString(body) {
			t.Errorf("%s: error not tied with aria-describedby", field)
		}
	}
	for _, kept := range []string{`value="0690026E"`, "Le &lt;b&gt;wifi&lt;/b&gt;\nne marche plus", `value="04 72 00 00 00"`,
		`value="hier matin"`, "3e B", `value="rid-1"`, `value="ENT" checked`, "capture.png"} {
		if !strings.Contains(body, kept) {
			t.Errorf("typed input lost: %q", kept)
		}
	}
	if !strings.Contains(body, `href="#f-uai"`) {
		t.Error("the error summary does not link to the field")
	}
	// Fix the fields; the file kept from the first post comes along.
	kept := regexp.MustCompile(`name="kept" value="([^"]+)"`).FindStringSubmatch(body)
	if kept == nil {
		t.Fatal("no kept file")
	}
	form = url.Values{"summary": {"Wifi du CDI"}, "uai": {"0690026d"}, "description": {"Le wifi\nne marche plus"},
		"academie": {"Lyon"}, "components": {"ENT", "Messagerie"}, "request_id": {"rid-1"}, "kept": {kept[1]}, "request_type": {"Incident"}}
	w = f.upload(t, c, "/requests/new", form, "attachments", map[string]string{"journal.txt": "ligne 1"})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("valid form: %d %s", w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	key := strings.TrimPrefix(loc, "/requests/")
	d, err := f.svc.DetailFor(t.Context(), f.users["jeanne"], key)
	if err != nil {
		t.Fatal(err)
	}
	if d.Source != ticket.SourceWeb || d.UAI != "0690026D" || d.Components != "ENT, Messagerie" || len(d.Attachments) != 2 || d.Academie != "Lyon" {
		t.Errorf("ticket %+v", d)
	}
	// A double submit makes one ticket.
	w2 := f.upload(t, c, "/requests/new", form, "attachments", nil)
	if w2.Header().Get("Location") != loc {
		t.Errorf("double submit: %q then %q", loc, w2.Header().Get("Location"))
	}
	// The summary (§5) after creation, with the flash message.
	page := f.getWithFlash(t, c, w, loc)
	for _, want := range []string{"Nouveau", key, "Jeanne Martin", "Ajouter des participants", "bien été enregistrée", "journal.txt", "capture.png"} {
		if !strings.Contains(page, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if links := f.outboxLinks(t, ticket.MailConfirmation, "jeanne@ecole.test"); len(links) == 0 {
		t.Error("no confirmation mail")
	}
}

// getWithFlash GETs target with the session and the flash cookie set by redirect w.
func (f *portalFixture) getWithFlash(t *testing.T, c *http.Cookie, w *httptest.ResponseRecorder, target string) string {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	r.AddCookie(c)
	for _, fc := range w.Result().Cookies() {
		if fc.Name == flashCookie {
			r.AddCookie(fc)
		}
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec.Body.String()
}

func TestRequestFormTooBig(t *testing.T) {
	f := newPortal(t, Options{MaxUpload: 1 << 20})
	c := f.login(t, "jeanne")
	form := url.Values{"summary": {"Gros"}, "uai": {"0690026D"}, "description": {"fichier"}}
	w := f.upload(t, c, "/requests/new", form, "attachments", map[string]string{"big.bin": strings.Repeat("x", 1<<20+10)})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "dépassent la taille") {
		t.Fatalf("%d", w.Code)
	}
	w = f.upload(t, c, "/requests/new", form, "attachments", map[string]string{"huge.bin": strings.Repeat("x", 4<<20)})
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge: %d", w.Code)
	}
}

func TestPhoneRequest(t *testing.T) {
	f := newPortal(t, Options{})
	if w := f.do(t, f.login(t, "jeanne"), "GET", "/agent/phone", nil); w.Code != http.StatusNotFound {
		t.Errorf("customer on /agent/phone: %d", w.Code)
	}
	c := f.login(t, "alice")
	if body := f.do(t, c, "GET", "/agent/phone", nil).Body.String(); !strings.Contains(body, `<label for="f-caller-email">`) {
		t.Fatal("no caller field")
	}
	form := url.Values{"summary": {"Appel : mot de passe"}, "uai": {"0690026D"}, "description": {"Appelle depuis le secrétariat"}, "request_id": {"p1"}}
	w := f.do(t, c, "POST", "/agent/phone", form)
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `id="f-caller-email-error"`) {
		t.Fatalf("missing caller: %d", w.Code)
	}
	form.Set("caller_email", "marc@ecole.test")
	form.Set("caller_name", "Marc")
	w = f.do(t, c, "POST", "/agent/phone", form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	key := strings.TrimPrefix(w.Header().Get("Location"), "/requests/")
	d, err := f.svc.DetailFor(t.Context(), f.users["alice"], key)
	if err != nil || d.Source != ticket.SourcePhone || d.Requester != "marc@ecole.test" {
		t.Fatalf("%v %+v", err, d)
	}
	if links := f.outboxLinks(t, ticket.MailConfirmation, "marc@ecole.test"); len(links) != 1 {
		t.Error("the caller got no confirmation")
	}
}

// TestRequestFormOtherEstablishment: a customer files only for their own establishment
// (the field is prefilled with it); another school's valid UAI is refused on the field,
// in French and English, and nothing is created. An agent files for any.
func TestRequestFormOtherEstablishment(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	if body := f.do(t, c, "GET", "/requests/new", nil).Body.String(); !strings.Contains(body, `name="uai" type="text" value="0690026D"`) {
		t.Errorf("the UAI field is not prefilled with Jeanne's establishment")
	}
	count := func() int {
		p, err := f.svc.Search(t.Context(), f.users["alice"], ticket.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	before := count()
	form := url.Values{"summary": {"Wifi du CDI"}, "uai": {"0380001v"}, "description": {"Le wifi ne marche plus"}, "request_type": {"Incident"}}
	// In this order: the English case switches Jeanne's language.
	for _, tc := range []struct{ lang, want string }{
		{"fr", "Vous ne pouvez faire une demande que pour votre établissement : 0690026D."},
		{"en", "You can file a request only for your own establishment: 0690026D."},
	} {
		lang, want := tc.lang, tc.want
		if lang == "en" {
			if w := f.do(t, c, "POST", "/profile", url.Values{"name": {"Jeanne Martin"}, "lang": {"en"}, "time_zone": {"Europe/Paris"}}); w.Code != http.StatusSeeOther {
				t.Fatalf("switch to English: %d", w.Code)
			}
		}
		w := f.upload(t, c, "/requests/new", form, "attachments", nil)
		body := w.Body.String()
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-uai-error"`) ||
			!strings.Contains(body, html.EscapeString(want)) || !strings.Contains(body, `value="0380001V"`) {
			t.Errorf("%s: %d, no error on the UAI field: %s", lang, w.Code, body)
		}
	}
	if n := count(); n != before {
		t.Fatalf("a refused request was created: %d then %d", before, n)
	}
	// An agent's phone form files for any establishment.
	a := f.login(t, "alice")
	phone := url.Values{"summary": {"Wifi du CDI"}, "uai": {"0380001V"}, "description": {"Appel"}, "caller_email": {"jeanne@ecole.test"}}
	if w := f.upload(t, a, "/agent/phone", phone, "attachments", nil); w.Code != http.StatusSeeOther {
		t.Fatalf("agent: %d %s", w.Code, w.Body)
	}
	if n := count(); n != before+1 {
		t.Fatalf("the agent's request: %d then %d", before, n)
	}
}

// TestRequestFormEstablishmentChoice: a customer of several establishments chooses among
// them in a list (no free text); one of none gets an optional field.
func TestRequestFormEstablishmentChoice(t *testing.T) {
	f := newPortal(t, Options{})
	render := func(v *formView) string {
		p := templates.NewPage("fr", "")
		p.Data = v
		var b strings.Builder
		if err := f.h.pages.Render(&b, "request_form", p); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	body := render(&formView{Establishments: []string{"0690026D", "0380001V"}, UAIRequired: true,
		Form: requestForm{UAI: "0380001V"}, Errors: map[string]string{}})
	if !regexp.MustCompile(`<select id="f-uai" name="uai" required`).MatchString(body) ||
		!strings.Contains(body, `<option value="0380001V" selected>`) || !strings.Contains(body, `<option value="0690026D">`) ||
		strings.Contains(body, `name="uai" type="text"`) {
		t.Errorf("several establishments: no list: %s", body)
	}
	body = render(&formView{Errors: map[string]string{}})
	if !strings.Contains(body, `<input id="f-uai" name="uai" type="text" value="" aria-describedby=`) {
		t.Errorf("no establishment: the field should be optional: %s", body)
	}
}
