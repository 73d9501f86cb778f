package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// supportAt is the fixture's ticket service with a support address.
type supportAt struct {
	Portal
	addr string
}

func (s supportAt) SupportAddress() string { return s.addr }

// TestAccessibilityStatement: the statement RGAA asks for is open to everyone, in French
// and English, says the conformity state and how it was checked, what is not accessible,
// how to report a problem (the desk's address and phone), the recourse and its date; every
// page's footer links to it.
func TestAccessibilityStatement(t *testing.T) {
	f := newPortal(t, Options{Brand: Brand{Phone: "04 26 73 64 64"}})
	f.h = New(Options{Portal: supportAt{f.h.opt.Portal, "assistance@ent.test"}, Blobs: f.blobs, Backoff: f.backoff,
		Brand: Brand{Phone: "04 26 73 64 64"}})
	fr := f.page(t, nil, "/accessibility")
	mustHave(t, "statement (fr)", fr, `<html lang="fr">`, "<h1>Déclaration d'accessibilité</h1>",
		"ma classe en Auvergne-Rhône-Alpes — Assistance ENT s'engage", "article 47 de la loi n° 2005-102",
		"État de conformité", "non conforme au RGAA 4.1", "n'a pas encore fait l'objet d'un audit",
		"axe-core (règles WCAG 2.0 et 2.1, niveaux A et AA)", "390 pixels", "au clavier seul",
		"ne remplacent pas un audit manuel", "Contenus non accessibles", "lecteur d'écran",
		"Retour d'information et contact", `<a href="mailto:assistance@ent.test">assistance@ent.test</a>`,
		`<a href="tel:0426736464">04 26 73 64 64</a>, du lundi au vendredi de 08h à 18h`, `<a href="/requests/new">`,
		"Voies de recours", "Défenseur des droits", "https://formulaire.defenseurdesdroits.fr/", "09 69 39 00 00",
		"Libre réponse 71120", "établie le 7 décembre 2026", `aria-current="page">Accessibilité : non conforme</a>`)
	w := f.do(t, nil, "GET", "/accessibility", nil, "Accept-Language", "en-GB,en;q=0.9")
	en := html.UnescapeString(w.Body.String())
	if w.Code != http.StatusOK {
		t.Fatalf("English statement: %d", w.Code)
	}
	mustHave(t, "statement (en)", en, `<html lang="en">`, "<h1>Accessibility statement</h1>", "not compliant with RGAA 4.1",
		"Tests carried out", "Non-accessible content", "Feedback and contact", "By mail:", "Phone support:",
		"Monday to Friday, 8 am to 6 pm", "Remedies", "Défenseur des droits", "made on 7 December 2026")
	mustLack(t, "statement (en)", en, "Déclaration d'accessibilité", "Voies de recours")

	// Signed in, the statement keeps the person's navigation and language.
	c := f.login(t, "jeanne")
	mine := f.page(t, c, "/accessibility")
	mustHave(t, "statement signed in", mine, "Se déconnecter", "Déclaration d'accessibilité")

	// Every page's footer links to it, the 404 page too.
	for _, target := range []string{"/", "/requests", "/requests/new", "/profile", "/requests/" + f.jeanneKey} {
		p := f.page(t, c, target)
		footer := p[strings.Index(p, "<footer"):]
		mustHave(t, "footer of "+target, footer, `<a href="/accessibility">Accessibilité : non conforme</a>`)
	}
	login := f.page(t, nil, "/login")
	mustHave(t, "footer of /login", login[strings.Index(login, "<footer"):], `href="/accessibility"`)
	for _, who := range []*http.Cookie{nil, c} {
		w := f.do(t, who, "GET", "/nulle-part", nil)
		body := html.UnescapeString(w.Body.String())
		if w.Code != http.StatusNotFound || !strings.Contains(body, `<html lang="fr">`) ||
			!strings.Contains(body, "Cette page n'existe pas") || !strings.Contains(body, `href="/accessibility"`) {
			t.Errorf("an unknown path (signed in: %v): %d %s", who != nil, w.Code, body)
		}
	}
}

// TestFormErrorSummaries: a form sent back with errors (the request form, each form of
// the profile) opens with a summary of its errors, announced (role=alert), that links
// to each field in the page's order; each field is marked aria-invalid and described by
// its error.
func TestFormErrorSummaries(t *testing.T) {
	f := newPortal(t, Options{})
	c := f.login(t, "jeanne")
	for _, tc := range []struct {
		name, target string
		form         url.Values
		want         []string // "id|label" of each error, in order
	}{
		{"request form", "/requests/new", url.Values{"url": {"pas une adresse"}, "uai": {"0690026D"}}, []string{
			"f-summary|Objet de la demande", "f-url|URL", "f-description|Description"}},
		{"password", "/profile/password", url.Values{"current": {testPassword}, "new": {"nouveau-mdp-1"}, "confirm": {"autre-mdp-2"}},
			[]string{"p-confirm|Confirmer le nouveau mot de passe"}},
		{"notification address", "/profile/notify", url.Values{"notify_email": {"pas une adresse"}},
			[]string{"p-notify|Adresse de notification"}},
		{"token", "/profile/tokens", url.Values{"name": {""}}, []string{"p-token-name|Nom du jeton"}},
		{"time zone", "/profile", url.Values{"name": {"Jeanne"}, "time_zone": {"Mars/Olympus"}, "lang": {"fr"}},
			[]string{"p-tz|Fuseau horaire"}},
	} {
		w := f.do(t, c, "POST", tc.target, tc.form)
		if w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", tc.name, w.Code)
			continue
		}
		page := html.UnescapeString(w.Body.String())
		i := strings.Index(page, `<div class="alert" role="alert" id="form-errors" tabindex="-1"`)
		if i < 0 {
			t.Errorf("%s: no error summary", tc.name)
			continue
		}
		summary := page[i : i+strings.Index(page[i:], "</div>")]
		links := regexp.MustCompile(`<a href="#([a-z-]+)">([^<]+)</a> : ([^<]+)</li>`).FindAllStringSubmatch(summary, -1)
		var got []string
		for _, l := range links {
			got = append(got, l[1]+"|"+l[2])
			field := regexp.MustCompile(`<(?:input|select|textarea) id="` + l[1] + `"[^>]*>`).FindString(page)
			if !strings.Contains(field, `aria-invalid="true"`) || !strings.Contains(field, l[1]+"-error") {
				t.Errorf("%s: field %s not marked invalid and described by its error: %s", tc.name, l[1], field)
			}
			if !strings.Contains(page, `id="`+l[1]+`-error"><strong>Erreur :</strong> `+l[3]) {
				t.Errorf("%s: the error of %s (%q) is not under it", tc.name, l[1], l[3])
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: summary links %q, want %q", tc.name, got, tc.want)
		}
	}
}
