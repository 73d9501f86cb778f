package web

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// focusInfo describes the focused element as the keyboard walk sees it.
type focusInfo struct {
	ID, Tag, Label string
	InForm         bool    // inside the form or section under test
	Top, Left      float64 // its box, in the page
	Width          float64
	Indicator      bool // focused, it is drawn with an outline or a shadow
	Changed        bool // and that differs from its look unfocused
}

// focusJS snapshots, before the walk, how each focusable element looks unfocused, then
// describes document.activeElement.
const focusSnapshotJS = `(function(){window.__unfocused=new Map();
	for (const e of document.querySelectorAll("a,button,input,select,textarea,summary,[tabindex]")) {
		const c=getComputedStyle(e);window.__unfocused.set(e,c.outlineStyle+"|"+c.outlineWidth+"|"+c.outlineColor+"|"+c.boxShadow)}
	return ""})()`

func focusJS(scope string) string {
	return `(function(){const e=document.activeElement;const c=getComputedStyle(e);const r=e.getBoundingClientRect();
	let label=(e.labels&&e.labels.length?e.labels[0].innerText:(e.getAttribute("aria-label")||e.innerText||"")).trim();
	const look=c.outlineStyle+"|"+c.outlineWidth+"|"+c.outlineColor+"|"+c.boxShadow;
	return JSON.stringify({ID:e.id,Tag:e.tagName.toLowerCase(),Label:label,InForm:!!e.closest(` + "`" + scope + "`" + `),
		Top:r.top+scrollY,Left:r.left+scrollX,Width:r.width,
		Indicator:(c.outlineStyle!=="none"&&parseFloat(c.outlineWidth)>=2)||c.boxShadow!=="none",
		Changed:!!window.__unfocused&&window.__unfocused.has(e)&&window.__unfocused.get(e)!==look})})()`
}

func (b *browser) focused(scope string) focusInfo {
	b.t.Helper()
	var f focusInfo
	if err := json.Unmarshal([]byte(b.eval(focusJS(scope))), &f); err != nil {
		b.t.Fatal(err)
	}
	return f
}

// key presses keys; shift holds Shift down.
func (b *browser) key(keys string, shift bool) {
	b.t.Helper()
	var opts []chromedp.KeyOption
	if shift {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	b.do(chromedp.KeyEvent(keys, opts...))
}

// enterKey presses Enter as a keyboard does: a key down that carries its text, then up.
// (chromedp's KeyEvent sends the text as a separate char event, which reaches the element
// that has the focus after the key down: the field an error's link moved to, which the
// Enter would then submit.)
var enterKey = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", Text: "\r", UnmodifiedText: "\r",
		WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
	if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
		return err
	}
	up := down
	up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
	_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
	return err
})

// enter presses Enter.
func (b *browser) enter() { b.t.Helper(); b.do(enterKey) }

// enterLoad presses Enter and waits for the page it loads (on a form's button).
func (b *browser) enterLoad() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, enterKey); err != nil {
		b.t.Fatalf("press Enter: %v", err)
	}
}

// tabTo presses Tab until the element with id has the focus, and returns what was
// focused on the way (that element last).
func (b *browser) tabTo(id, scope string) []focusInfo {
	b.t.Helper()
	var seen []focusInfo
	for range 60 {
		b.key(kb.Tab, false)
		f := b.focused(scope)
		seen = append(seen, f)
		if f.ID == id {
			return seen
		}
	}
	b.t.Fatalf("Tab never reached #%s; went through %+v", id, seen)
	return nil
}

// checkWalk checks a walk through a form: the labels in the order wanted (each focused
// label starts with the wanted text), a visible focus indicator on each, and, when
// ordered, each element below or right of the one before (the visual order).
func (b *browser) checkWalk(what string, walk []focusInfo, want []string, ordered bool) {
	b.t.Helper()
	var labels []string
	for i, f := range walk {
		labels = append(labels, f.Label)
		if !f.Indicator || !f.Changed {
			b.t.Errorf("%s: focused %s#%s %q shows no focus indicator (outline or shadow: %v, differs from unfocused: %v)",
				what, f.Tag, f.ID, f.Label, f.Indicator, f.Changed)
		}
		if ordered && i > 0 {
			p := walk[i-1]
			if f.Top < p.Top-2 || (f.Top < p.Top+2 && f.Left <= p.Left && f.Top <= p.Top) {
				b.t.Errorf("%s: %q (top %.0f, left %.0f) comes after %q (top %.0f, left %.0f) but is not below or right of it",
					what, f.Label, f.Top, f.Left, p.Label, p.Top, p.Left)
			}
		}
	}
	if len(labels) != len(want) {
		b.t.Errorf("%s: focus went through %q, want %q", what, labels, want)
		return
	}
	for i := range want {
		if !strings.HasPrefix(labels[i], want[i]) {
			b.t.Errorf("%s: focus went through %q, want %q", what, labels, want)
			return
		}
	}
}

// checkErrorsTied checks that each field named by an error summary's links is marked
// aria-invalid and described by an element holding the error's text.
func (b *browser) checkErrorsTied(what string) []string {
	b.t.Helper()
	out := b.eval(`JSON.stringify([...document.querySelectorAll("#form-errors li")].map(li=>{
		const a=li.querySelector("a");const id=a.getAttribute("href").slice(1);const f=document.getElementById(id);
		const text=li.innerText.slice(a.innerText.length).replace(/^\s*:\s*/,"");
		const desc=f?(f.getAttribute("aria-describedby")||"").split(/\s+/).map(d=>(document.getElementById(d)||{}).innerText||"").join(" "):"";
		return id+"|"+(f?f.getAttribute("aria-invalid"):"no field")+"|"+(desc.includes(text)&&text!==""?"described":"not described: "+desc)}))`)
	var rows []string
	json.Unmarshal([]byte(out), &rows)
	var ids []string
	for _, r := range rows {
		parts := strings.SplitN(r, "|", 3)
		ids = append(ids, parts[0])
		if parts[1] != "true" || parts[2] != "described" {
			b.t.Errorf("%s: field %s: aria-invalid=%s, %s", what, parts[0], parts[1], parts[2])
		}
	}
	return ids
}

// TestBrowserKeyboard walks the request form and the comment box with the keyboard
// alone (Tab, Shift-Tab, Enter, Space, typing): the skip link, focus order by visible
// labels and in visual order, a visible focus indicator on every element, the error
// summary that takes the focus, is announced and links to each field, fields marked
// invalid and described by their error, then the request and a comment sent; the
// profile's password form gives the same summary.
func TestBrowserKeyboard(t *testing.T) {
	f := newPortal(t, Options{})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	b.login("jeanne@ecole.test")

	b.open("/requests/new")
	b.eval(focusSnapshotJS)
	// The skip link comes first, shows itself, and leads to the content.
	b.key(kb.Tab, false)
	skip := b.focused("main")
	if skip.Label != "Aller au contenu" || skip.Left < 0 || skip.Width == 0 || !skip.Indicator {
		t.Errorf("first Tab: %+v, want the visible skip link", skip)
	}
	b.enter()
	if id := b.eval(`document.activeElement.id`); id != "main" {
		t.Errorf("the skip link moved the focus to %q, not main", id)
	}
	form := "form.request-form"
	walk := b.tabTo("f-attachments", form)
	walk = append(walk, b.tabTo("f-affected-users", form)...)
	b.key(kb.Tab, false)
	walk = append(walk, b.focused(form))
	b.checkWalk("request form", walk, []string{"Type de demande", "Objet de la demande (obligatoire)", "RNE/UAI", "URL (Facultatif)",
		"Académie (Facultatif)", "Description (obligatoire)", "ENT", "Messagerie", "Pronote", "Pièces jointes (Facultatif)",
		"Téléphone de contact (Facultatif)", "Date de début de l'incident (Facultatif)", "Utilisateur(s) concerné(s) (Facultatif)", "Créer"}, true)
	b.key(kb.Tab, false)
	if next := b.focused(form); next.InForm {
		t.Errorf("after Créer the focus stays in the form: %+v", next)
	}
	// Shift-Tab goes back the same way.
	b.key(kb.Tab, true)
	if g := b.focused(form); g.Label != "Créer" {
		t.Errorf("Shift-Tab from after the form: %q, want Créer", g.Label)
	}
	b.key(kb.Tab, true)
	if g := b.focused(form); !strings.HasPrefix(g.Label, "Utilisateur(s) concerné(s)") {
		t.Errorf("Shift-Tab from Créer: %q", g.Label)
	}
	// Back up to the "ENT" component and tick it with Space.
	for range 6 {
		b.key(kb.Tab, true)
	}
	if g := b.focused(form); g.ID != "f-components-0" {
		t.Fatalf("6 × Shift-Tab from Utilisateur(s) concerné(s): %+v, want the ENT checkbox", g)
	}
	b.key(" ", false)
	if c := b.eval(`String(document.getElementById("f-components-0").checked)`); c != "true" {
		t.Error("Space did not tick the checkbox")
	}
	// Sent empty: the summary of errors takes the focus and is announced.
	b.tabTo("f-affected-users", form)
	b.key(kb.Tab, false)
	b.enterLoad()
	if got := b.eval(`(function(){const e=document.activeElement;return e.id+"|"+e.getAttribute("role")})()`); got != "form-errors|alert" {
		t.Errorf("after sending with errors the focus is on %q, want the error summary (role=alert)", got)
	}
	if ids := b.checkErrorsTied("request form errors"); strings.Join(ids, " ") != "f-summary f-description" {
		t.Errorf("the summary links to %v, want the subject and the description", ids)
	}
	if c := b.eval(`String(document.getElementById("f-components-0").checked)`); c != "true" {
		t.Error("the ticked component was lost")
	}
	b.shot("keyboard-request-errors")
	// Each error is a link to its field: Tab, Enter, and the subject has the focus.
	b.eval(focusSnapshotJS)
	b.key(kb.Tab, false)
	if g := b.focused("#form-errors"); !g.InForm || g.Label != "Objet de la demande" || !g.Indicator || !g.Changed {
		t.Errorf("first Tab in the summary: %+v", g)
	}
	b.enter()
	if id := b.eval(`document.activeElement.id`); id != "f-summary" {
		t.Fatalf("the error's link moved the focus to %q, not the subject", id)
	}
	b.key("Imprimante bloquée", false)
	b.tabTo("f-description", form)
	b.key("Bourrage papier en salle 4", false)
	b.tabTo("", form) // to the button: it has no id
	if g := b.focused(form); g.Label != "Créer" {
		t.Fatalf("not on Créer: %+v", g)
	}
	b.enterLoad()
	loc := b.location()
	if !strings.HasPrefix(loc, "/requests/AURAN1-") {
		t.Fatalf("the request was not created from the keyboard: %s", loc)
	}
	b.mustContain("created", "Imprimante bloquée", "Bourrage papier en salle 4", "ENT")

	// The comment box: its field, its files, its button, then the participants.
	b.eval(focusSnapshotJS)
	walk = b.tabTo("comment-body", "main")
	walk = walk[len(walk)-1:]
	walk = append(walk, b.tabTo("participant-email", "main")...)
	b.checkWalk("comment box", walk, []string{"Votre commentaire", "Pièces jointes", "Ajouter", "Adresse"}, false)
	// Sent empty: the field takes the focus, marked invalid and described by its error.
	b.key(kb.Tab, true)
	if g := b.focused("main"); g.Label != "Ajouter" {
		t.Fatalf("Shift-Tab from the participant's field: %+v, want Ajouter", g)
	}
	b.enterLoad()
	got := b.eval(`(function(){const e=document.activeElement;const d=document.getElementById("comment-body-error");
		return e.id+"|"+e.getAttribute("aria-invalid")+"|"+(e.getAttribute("aria-describedby")||"")+"|"+(d?d.innerText:"")})()`)
	if parts := strings.Split(got, "|"); len(parts) != 4 || parts[0] != "comment-body" || parts[1] != "true" ||
		!strings.Contains(parts[2], "comment-body-error") || parts[3] == "" {
		t.Errorf("after an empty comment: %q, want the focus on the comment, invalid and described by its error", got)
	}
	b.shot("keyboard-comment-error")
	b.key("Merci, c'est reparti.", false)
	b.key(kb.Tab, false)
	b.key(kb.Tab, false)
	if g := b.focused("main"); g.Label != "Ajouter" {
		t.Fatalf("two Tabs from the comment: %+v, want Ajouter", g)
	}
	b.enterLoad()
	b.mustContain("comment sent", "Merci, c'est reparti.", "commentaire a été ajouté")

	// The profile's password form, sent with two different new passwords: the same
	// summary of errors, focused, linking to the confirmation field.
	b.open("/profile")
	b.eval(focusSnapshotJS)
	section := "form[action='/profile/password']"
	walk = b.tabTo("p-current", section)
	b.key(testPassword, false)
	walk = append(walk[len(walk)-1:], b.tabTo("p-new", section)...)
	b.key("nouveau-mdp-1", false)
	walk = append(walk, b.tabTo("p-confirm", section)...)
	b.key("nouveau-mdp-2", false)
	b.key(kb.Tab, false)
	walk = append(walk, b.focused(section))
	b.checkWalk("password form", walk, []string{"Mot de passe actuel", "Nouveau mot de passe", "Confirmer le nouveau mot de passe",
		"Changer le mot de passe"}, true)
	b.enterLoad()
	if got := b.eval(`(function(){const e=document.activeElement;return e.id+"|"+e.getAttribute("role")})()`); got != "form-errors|alert" {
		t.Errorf("after a wrong password form the focus is on %q, want the error summary (role=alert)", got)
	}
	if ids := b.checkErrorsTied("password form errors"); strings.Join(ids, " ") != "p-confirm" {
		t.Errorf("the profile's summary links to %v, want the confirmation", ids)
	}
	b.key(kb.Tab, false)
	b.enter()
	if id := b.eval(`document.activeElement.id`); id != "p-confirm" {
		t.Errorf("the error's link moved the focus to %q, not the confirmation", id)
	}
	b.shot("keyboard-profile-error")
}
