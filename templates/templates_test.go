package templates

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/ticket"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func mustNew(t *testing.T, dir string) *Templates {
	t.Helper()
	tm, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestGolden renders every fixture in every language and compares subject, text and
// HTML with testdata/golden. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	tm := mustNew(t, "")
	for name, m := range fixtures() {
		for _, lang := range Langs {
			t.Run(name+"."+lang, func(t *testing.T) {
				m.Lang = lang
				r, err := tm.RenderMail(&m)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(r.Subject, "[#AURAN1-13]") {
					t.Errorf("subject %q has no token", r.Subject)
				}
				for ext, got := range map[string]string{"subject": r.Subject + "\n", "txt": r.Text, "html": r.HTML} {
					golden(t, filepath.Join("testdata", "golden", name+"."+lang+"."+ext), got)
				}
			})
		}
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept)\n--- got:\n%s\n--- want:\n%s", file, got, want)
	}
}

// TestEmbeddedFilesDeclared checks that every embedded file is used by New, and that
// every kind and language has its two files.
func TestEmbeddedFilesDeclared(t *testing.T) {
	declared := map[string]bool{mailBase: false, mailCommonHTML: false, mailCommonText: false}
	for _, kind := range MailKinds {
		for _, lang := range Langs {
			declared["mail/"+string(kind)+"."+lang+".txt"] = false
			declared["mail/"+string(kind)+"."+lang+".html"] = false
		}
	}
	err := fs.WalkDir(embedded, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := declared[name]; !ok {
			t.Errorf("embedded file %s is not declared", name)
		}
		declared[name] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, seen := range declared {
		if !seen {
			t.Errorf("declared file %s is not embedded", name)
		}
	}
}

func TestConfirmationText(t *testing.T) {
	tm := mustNew(t, "")
	m := fixtures()["confirmation"]
	m.Lang = "fr"
	r, err := tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Bonjour Élodie Martin,\n\nNous avons bien reçu votre requête et vous répondrons au plus vite.",
		"AURAN1-13", "Impossible d'accéder à l'ENT", "Nouveau", m.Data.Link,
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, r.Text)
		}
	}
	if want := "[#AURAN1-13] Nous avons bien reçu votre requête : Impossible d'accéder à l'ENT"; r.Subject != want {
		t.Errorf("subject = %q, want %q", r.Subject, want)
	}
	m.Lang = "en"
	r, err = tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "We have received your request and will answer as soon as possible.") {
		t.Errorf("English text:\n%s", r.Text)
	}
	if !strings.HasPrefix(r.Subject, "[#AURAN1-13] We received your request: ") {
		t.Errorf("English subject %q", r.Subject)
	}
}

func TestStatusLine(t *testing.T) {
	tm := mustNew(t, "")
	m := fixtures()["status"]
	for lang, want := range map[string]string{
		"fr": "Votre demande AURAN1-13 est maintenant : En attente utilisateur",
		"en": "Your request AURAN1-13 is now: Waiting for user",
	} {
		m.Lang = lang
		r, err := tm.RenderMail(&m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Text, want) {
			t.Errorf("%s text lacks %q:\n%s", lang, want, r.Text)
		}
	}
}

func TestLanguageFallbackAndDates(t *testing.T) {
	tm := mustNew(t, "")
	m := fixtures()["comment_reply"]
	tests := []struct {
		lang, tz, want string
	}{
		{"fr", "", "28/11/2026 15:21"}, // default Europe/Paris
		{"de", "Europe/Paris", "28/11/2026 15:21"},
		{"en-GB", "America/New_York", "2026-11-28 09:21"},
		{"en", "Not/AZone", "2026-11-28 15:21"},
		{"fr", "Asia/Tokyo", "28/11/2026 23:21"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+" "+tt.tz, func(t *testing.T) {
			m.Lang, m.TimeZone = tt.lang, tt.tz
			r, err := tm.RenderMail(&m)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Text, tt.want) || !strings.Contains(r.HTML, tt.want) {
				t.Errorf("date %q not found in:\n%s", tt.want, r.Text)
			}
		})
	}
}

func TestInternalNoteSaysSo(t *testing.T) {
	tm := mustNew(t, "")
	m := fixtures()["comment_internal"]
	m.Lang = "fr"
	r, err := tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Note interne") || !strings.Contains(r.HTML, "Note interne") {
		t.Errorf("internal note not flagged:\n%s", r.Text)
	}
}

func TestHTMLEscapesAndSubjectIsOneLine(t *testing.T) {
	tm := mustNew(t, "")
	m := fixtures()["agent_new"]
	m.Data.Ticket.Summary = "<script>alert(1)</script>\r\nBcc: evil@example.com"
	m.Data.Link = "javascript:alert(1)"
	r, err := tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || strings.Contains(r.HTML, `href="javascript:`) {
		t.Errorf("HTML not escaped:\n%s", r.HTML)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("subject %q spans lines", r.Subject)
	}
}

func TestRenderErrors(t *testing.T) {
	tm := mustNew(t, "")
	if _, err := tm.RenderMail(nil); err == nil {
		t.Error("nil mail: no error")
	}
	m := fixtures()["confirmation"]
	m.Kind = "unknown"
	if _, err := tm.RenderMail(&m); err == nil {
		t.Error("unknown kind: no error")
	}
	m = fixtures()["comment_reply"]
	m.Data.Comment = nil
	if _, err := tm.RenderMail(&m); err == nil {
		t.Error("comment without comment: no error")
	}
	m = fixtures()["notice_refused"]
	m.Data.Notice = " \n "
	if _, err := tm.RenderMail(&m); err == nil {
		t.Error("notice without notice: no error")
	}
}

// TestStopLink checks that the footer of every mail, text and HTML, carries the stop link
// when there is one, and only then.
func TestStopLink(t *testing.T) {
	tm := mustNew(t, "")
	const link = "http://127.0.0.1:8080/stop/AURAN1-13/x.y"
	want := map[string]string{
		"fr": "Ne plus recevoir de messages pour cette demande : ",
		"en": "Stop receiving mail about this request: ",
	}
	for name, m := range fixtures() {
		for _, lang := range Langs {
			m.Lang = lang
			m.Data.StopLink = ""
			r, err := tm.RenderMail(&m)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.Text, want[lang]) || strings.Contains(r.HTML, "/stop/") {
				t.Errorf("%s.%s: stop link without StopLink", name, lang)
			}
			m.Data.StopLink = link
			if r, err = tm.RenderMail(&m); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(r.Text, "\n"+want[lang]+link+"\n") {
				t.Errorf("%s.%s: text does not end with the stop link:\n%s", name, lang, r.Text)
			}
			if !strings.Contains(r.HTML, want[lang]+`<a href="`+link+`"`) {
				t.Errorf("%s.%s: HTML lacks the stop link:\n%s", name, lang, r.HTML)
			}
		}
	}
	m := fixtures()["comment_stop"]
	m.Data.StopLink = "javascript:alert(1)"
	r, err := tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, `href="javascript:`) {
		t.Errorf("unsafe stop link kept:\n%s", r.HTML)
	}
}

var commands = map[string][]string{
	"fr": {"#note", "#statut <code>", "#fermer", "#assigner <adresse|moi>", "#participant <adresse>"},
	"en": {"#note", "#status <code>", "#close", "#assign <address|me>", "#participant <address>"},
}

// TestAgentWording checks that comment and status mails to agents say who wrote, that a
// reply answers the requester, and which commands a reply may start with; and that no
// mail to a customer mentions a command.
func TestAgentWording(t *testing.T) {
	tm := mustNew(t, "")
	replyAnswers := map[string]string{
		"fr": "Répondre à ce message répond au demandeur (Élodie Martin <elodie.martin@ac-lyon.fr>).",
		"en": "Replying to this message answers the requester (Élodie Martin <elodie.martin@ac-lyon.fr>).",
	}
	for name, m := range fixtures() {
		for _, lang := range Langs {
			m.Lang = lang
			r, err := tm.RenderMail(&m)
			if err != nil {
				t.Fatal(err)
			}
			html := strings.ReplaceAll(strings.ReplaceAll(r.HTML, "&lt;", "<"), "&gt;", ">")
			switch {
			case !m.ToRole.IsStaff():
				for _, cmd := range []string{"#note", "#stat", "#fermer", "#close", "#assign", "#participant"} {
					if strings.Contains(r.Text, cmd) || strings.Contains(r.HTML, cmd) {
						t.Errorf("%s.%s: mail to a customer mentions %s:\n%s", name, lang, cmd, r.Text)
					}
				}
			case m.Kind == ticket.MailComment || m.Kind == ticket.MailStatus || m.Kind == ticket.MailAgentNew:
				for _, want := range append([]string{replyAnswers[lang]}, commands[lang]...) {
					if !strings.Contains(r.Text, want) || !strings.Contains(html, want) {
						t.Errorf("%s.%s: mail to an agent lacks %q:\n%s", name, lang, want, r.Text)
					}
				}
				if c := m.Data.Comment; c != nil && !strings.Contains(r.Text, c.Author.Email) {
					t.Errorf("%s.%s: mail to an agent does not say who wrote:\n%s", name, lang, r.Text)
				}
			case m.Kind == ticket.MailNotice:
				if strings.Contains(r.Text, replyAnswers[lang]) {
					t.Errorf("%s.%s: a notice says a reply answers the requester:\n%s", name, lang, r.Text)
				}
			}
		}
	}
}

func TestNotice(t *testing.T) {
	tm := mustNew(t, "")
	m := fixtures()["notice_held"]
	for lang, subject := range map[string]string{
		"fr": "[#AURAN1-13] Message retenu ou commande refusée : Impossible d'accéder à l'ENT",
		"en": "[#AURAN1-13] Held message or refused command: Impossible d'accéder à l'ENT",
	} {
		m.Lang = lang
		r, err := tm.RenderMail(&m)
		if err != nil {
			t.Fatal(err)
		}
		if r.Subject != subject {
			t.Errorf("%s subject = %q, want %q", lang, r.Subject, subject)
		}
		text := "Un message envoyé en votre nom a été retenu faute de preuve d'expéditeur.\n" +
			"Répondez à ce message pour le confirmer.\n\n<De : paul@support.example>\n"
		if !strings.Contains(r.Text, text) || strings.Contains(r.Text, "\r") {
			t.Errorf("%s text lacks the notice:\n%q", lang, r.Text)
		}
		html := "Un message envoyé en votre nom a été retenu faute de preuve d&#39;expéditeur.<br>" +
			"Répondez à ce message pour le confirmer.<br><br>&lt;De : paul@support.example&gt;</p>"
		if !strings.Contains(r.HTML, html) {
			t.Errorf("%s HTML lacks the escaped notice:\n%s", lang, r.HTML)
		}
		for _, want := range []string{"AURAN1-13", m.Data.Link} {
			if !strings.Contains(r.Text, want) || !strings.Contains(r.HTML, want) {
				t.Errorf("%s notice lacks %q", lang, want)
			}
		}
	}
	m.Data.Notice = "<script>alert(1)</script>"
	r, err := tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") {
		t.Errorf("notice not escaped:\n%s", r.HTML)
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The override forgets the token: it is put back.
	write("mail/status.fr.txt", `{{define "subject"}}Changement : {{.Summary}}{{end}}{{define "text"}}Nouveau statut {{.Status}}{{end}}`)
	tm := mustNew(t, dir)
	m := fixtures()["status"]
	m.Lang = "fr"
	r, err := tm.RenderMail(&m)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "[#AURAN1-13] Changement : Impossible d'accéder à l'ENT" {
		t.Errorf("subject = %q", r.Subject)
	}
	if r.Text != "Nouveau statut En attente utilisateur\n" {
		t.Errorf("text = %q", r.Text)
	}
	m.Lang = "en" // not overridden
	if r, _ := tm.RenderMail(&m); !strings.Contains(r.Text, "Your request AURAN1-13 is now") {
		t.Errorf("en text = %q", r.Text)
	}

	t.Run("misspelt", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "mail"), 0o755)
		os.WriteFile(filepath.Join(dir, "mail", "statut.fr.txt"), []byte("x"), 0o644)
		if _, err := New(dir); err == nil {
			t.Error("no error for an override that replaces nothing")
		}
	})
	t.Run("broken", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "mail"), 0o755)
		os.WriteFile(filepath.Join(dir, "mail", "base.html"), []byte(`{{define "base"}}{{.Nope`), 0o644)
		if _, err := New(dir); err == nil {
			t.Error("no error for a broken override")
		}
	})
	t.Run("missing define", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "mail"), 0o755)
		os.WriteFile(filepath.Join(dir, "mail", "status.en.txt"), []byte(`{{define "text"}}x{{end}}`), 0o644)
		if _, err := New(dir); err == nil {
			t.Error("no error for a template without subject")
		}
	})
	t.Run("no folder", func(t *testing.T) {
		if _, err := New(filepath.Join(dir, "nope")); err == nil {
			t.Error("no error for a missing folder")
		}
	})
}

func TestT(t *testing.T) {
	tm := mustNew(t, "")
	tests := []struct{ lang, key, want string }{
		{"fr", "field.uai", "RNE/UAI"},
		{"fr", "field.summary", "Objet de la demande"},
		{"en", "field.summary", "Subject"},
		{"it", "field.phone", "Téléphone de contact"},
		{"en", "no.such.key", "no.such.key"},
	}
	for _, tt := range tests {
		if got := tm.T(tt.lang, tt.key); got != tt.want {
			t.Errorf("T(%q, %q) = %q, want %q", tt.lang, tt.key, got, tt.want)
		}
	}
	if got := formatSize("fr", 48213); got != "47,1 Ko" {
		t.Errorf("size = %q", got)
	}
	_ = ticket.StatusNew
}
