package parse

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestStripQuotedHTML checks, per client structure, the visible text and the rules that
// removed the quote. The HTML follows what each client writes, in French and English.
func TestStripQuotedHTML(t *testing.T) {
	cases := []struct {
		name    string
		html    string
		want    string
		rules   []string // nil: nothing removed, the text path decides
		removed string   // a piece of the removed text (of the kept forward for *_forward)
	}{
		{
			name: "gmail en",
			html: `<div dir="ltr">Thanks, it works now.</div><br><div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, Mar 3, 2026 at 10:00 AM Support &lt;<a href="mailto:support@lycee.fr">support@lycee.fr</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"><div>Your ticket #12 was answered.</div></blockquote></div>`,
			want: "Thanks, it works now.", rules: []string{"gmail_quote"}, removed: "Your ticket #12",
		},
		{
			name: "gmail fr, attribution in an unknown wording",
			html: `<div dir="ltr">Merci beaucoup !<div><br></div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">lun. 3 mars 2026, 10:00 — Support:<br></div><blockquote class="gmail_quote"><div>Bonjour, votre demande…</div></blockquote></div>`,
			want: "Merci beaucoup !", rules: []string{"gmail_quote"}, removed: "lun. 3 mars 2026",
		},
		{
			name: "apple mail en, attribution in a div before blockquote type=cite",
			html: `<html><body style="word-wrap: break-word;">Works for me.<div><br></div><div><div>On 3 Mar 2026, at 10:00, Support &lt;support@lycee.fr&gt; wrote:</div><br class="Apple-interchange-newline"><blockquote type="cite"><div>Please try again.</div></blockquote></div><br></body></html>`,
			want: "Works for me.", rules: []string{"blockquote_cite"}, removed: "On 3 Mar 2026",
		},
		{
			name: "apple mail fr, attribution inside the blockquote",
			html: `<html><body>C'est réglé, merci.<br><div><br><blockquote type="cite"><div>Le 3 mars 2026 à 10:00, Support &lt;support@lycee.fr&gt; a écrit :</div><br class="Apple-interchange-newline"><div>Pouvez-vous réessayer ?</div></blockquote></div></body></html>`,
			want: "C'est réglé, merci.", rules: []string{"blockquote_cite"}, removed: "Pouvez-vous",
		},
		{
			name: "thunderbird fr",
			html: `<html><head><meta http-equiv="content-type" content="text/html; charset=UTF-8"></head><body><p>Toujours en panne.</p><div class="moz-cite-prefix">Le 03/03/2026 à 10:00, Support a écrit&nbsp;:<br></div><blockquote type="cite" cite="mid:abc@lycee.fr"><p>Avez-vous redémarré ?</p></blockquote></body></html>`,
			want: "Toujours en panne.", rules: []string{"blockquote_cite"}, removed: "a écrit",
		},
		{
			name: "thunderbird with signature after the quote",
			html: `<p>Still broken.</p><div class="moz-cite-prefix">On 3/3/26 10:00, Support wrote:<br></div><blockquote type="cite">Did you restart?</blockquote><br><pre class="moz-signature" cols="72">-- 
Jeanne Martin</pre>`,
			want: "Still broken.", rules: []string{"blockquote_cite"}, removed: "Did you restart",
		},
		{
			name: "roundcube fr",
			html: `<p>Voici la pièce demandée.</p><p id="reply-intro">Le 2026-03-03 10:00, Support a écrit&nbsp;:</p><blockquote type="cite" style="padding: 0 0.4em; border-left: #1010ff 2px solid; margin: 0"><div class="pre" style="margin: 0; padding: 0; font-family: monospace">Merci d'envoyer la facture.</div></blockquote>`,
			want: "Voici la pièce demandée.", rules: []string{"blockquote_cite"}, removed: "Le 2026-03-03",
		},
		{
			name: "outlook desktop en, top-bordered header block",
			html: `<html><body lang="EN-US"><div class="WordSection1"><p class="MsoNormal">The printer is fixed.<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>From:</b> Support &lt;support@lycee.fr&gt; <br><b>Sent:</b> Monday, March 3, 2026 10:00 AM<br><b>To:</b> Jeanne &lt;jeanne@lycee.fr&gt;<br><b>Subject:</b> RE: Printer<o:p></o:p></p></div></div><p class="MsoNormal">Is it still broken?<o:p></o:p></p></div></body></html>`,
			want: "The printer is fixed.", rules: []string{"outlook_header_border"}, removed: "Is it still broken",
		},
		{
			name: "outlook desktop fr, older border colour",
			html: `<div class="WordSection1"><p class="MsoNormal">Merci, c'est bon.</p><div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>De&nbsp;:</b> Support [mailto:support@lycee.fr] <br><b>Envoyé&nbsp;:</b> lundi 3 mars 2026 10:00<br><b>À&nbsp;:</b> Jeanne<br><b>Objet&nbsp;:</b> RE: Imprimante</p></div><p class="MsoNormal">Toujours en panne ?</p></div>`,
			want: "Merci, c'est bon.", rules: []string{"outlook_header_border"}, removed: "Toujours en panne",
		},
		{
			name: "outlook web, appendonsend and divRplyFwdMsg",
			html: `<html><body><div class="elementToProof" style="font-family: Aptos">Done, thanks.</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>From:</b> Support &lt;support@lycee.fr&gt;<br><b>Sent:</b> Monday, March 3, 2026 10:00<br><b>To:</b> Jeanne<br><b>Subject:</b> Your ticket</font><div>&nbsp;</div></div><div>Please confirm.</div></body></html>`,
			want: "Done, thanks.", rules: []string{"outlook_appendonsend"}, removed: "Please confirm",
		},
		{
			name: "outlook divRplyFwdMsg alone, fr",
			html: `<div>C'est fait.</div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr"><b>De :</b> Support &lt;support@lycee.fr&gt;<br><b>Envoyé :</b> lundi 3 mars 2026 10:00<br><b>À :</b> Jeanne<br><b>Objet :</b> Votre demande</div><div>Merci de confirmer.</div>`,
			want: "C'est fait.", rules: []string{"outlook_divRplyFwdMsg"}, removed: "Merci de confirmer",
		},
		{
			name: "hotmail stopSpelling",
			html: `<html><body><div dir="ltr">OK for Tuesday.<br><br><div><hr id="stopSpelling">Date: Mon, 3 Mar 2026 10:00:00 +0100<br>From: support@lycee.fr<br>To: jeanne@hotmail.com<br>Subject: Appointment<br><br>Would Tuesday suit you?</div></div></body></html>`,
			want: "OK for Tuesday.", rules: []string{"outlook_stopSpelling"}, removed: "Would Tuesday",
		},
		{
			name: "yahoo",
			html: `<html><body><div class="ydp1"><div>Yes, that is right.</div></div><div id="yahoo_quoted_123" class="yahoo_quoted"><div style="font-family:Helvetica"><div>On Monday, March 3, 2026, 10:00:00 AM GMT+1, Support &lt;support@lycee.fr&gt; wrote:</div><div><br></div><div><div id="yiv1">Is your address right?</div></div></div></div></body></html>`,
			want: "Yes, that is right.", rules: []string{"yahoo_quoted"}, removed: "Is your address",
		},
		{
			name: "proton fr",
			html: `<div style="font-family: Arial">Je confirme.</div><div class="protonmail_signature_block"></div><br><div class="protonmail_quote">Le lundi 3 mars 2026 à 10:00, Support &lt;support@lycee.fr&gt; a écrit :<br><blockquote class="protonmail_quote" type="cite"><div>Confirmez-vous ?</div></blockquote><br></div>`,
			want: "Je confirme.", rules: []string{"protonmail_quote"}, removed: "Confirmez-vous",
		},
		{
			name: "zimbra fr",
			html: `<html><body><div style="font-family: arial"><div>Bien reçu.</div><br><hr id="zwchr" data-marker="__DIVIDER__"><div data-marker="__HEADERS__"><b>De: </b>"Support" &lt;support@lycee.fr&gt;<br><b>À: </b>"Jeanne" &lt;jeanne@lycee.fr&gt;<br><b>Envoyé: </b>Lundi 3 Mars 2026 10:00:00<br><b>Objet: </b>Votre demande<br></div><div data-marker="__QUOTED_TEXT__"><br><div>Avez-vous reçu le colis ?</div></div></div></body></html>`,
			want: "Bien reçu.", rules: []string{"zimbra_zwchr"}, removed: "colis",
		},
		{
			name: "plain blockquote after an attribution div",
			html: `Reply<div>On 11-Apr-2011, at 6:54 PM, Bob &lt;bob@example.com&gt; wrote:</div><blockquote><div>Test</div></blockquote>`,
			want: "Reply", rules: []string{"blockquote_attributed"}, removed: "Test",
		},
		{
			name:  "inline reply keeps every quote and answer",
			html:  `<div class="moz-cite-prefix">Le 03/03/2026 à 10:00, Support a écrit :</div><blockquote type="cite">Quel modèle ?</blockquote><p>Une HP 400.</p><blockquote type="cite">Depuis quand ?</blockquote><p>Depuis lundi.</p>`,
			rules: nil,
		},
		{
			name:  "inline reply ending with a quote keeps it too",
			html:  `<blockquote type="cite">Which model?</blockquote><p>An HP 400.</p><blockquote type="cite">Since when?</blockquote>`,
			rules: nil,
		},
		{
			name:  "gmail forward stays",
			html:  `<div dir="ltr">See below, from the teacher.<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">Paul Prof</strong> <span dir="auto">&lt;paul@lycee.fr&gt;</span><br>Date: Mon, Mar 3, 2026 at 10:00 AM<br>Subject: Projector<br>To: &lt;jeanne@lycee.fr&gt;<br></div><br><br><div dir="ltr">The projector in room 12 is dead.</div></div></div>`,
			want:  "See below, from the teacher.\n\n---------- Forwarded message ---------\nFrom: Paul Prof <paul@lycee.fr>\nDate: Mon, Mar 3, 2026 at 10:00 AM\nSubject: Projector\nTo: <jeanne@lycee.fr>\nThe projector in room 12 is dead.",
			rules: []string{"gmail_quote_forward"}, removed: "room 12 is dead",
		},
		{
			name:  "gmail forward fr stays",
			html:  `<div dir="ltr">Pour info.<div class="gmail_quote"><div class="gmail_attr">---------- Message transféré ---------<br>De : Paul &lt;paul@lycee.fr&gt;<br>Date: lun. 3 mars 2026 à 10:00<br>Subject: Vidéoprojecteur<br></div><div>Le vidéoprojecteur de la salle 12 est mort.</div></div></div>`,
			want:  "Pour info.\n\n---------- Message transféré ---------\nDe : Paul <paul@lycee.fr>\nDate: lun. 3 mars 2026 à 10:00\nSubject: Vidéoprojecteur\nLe vidéoprojecteur de la salle 12 est mort.",
			rules: []string{"gmail_quote_forward"}, removed: "salle 12 est mort",
		},
		{
			name:  "outlook forward stays, with what it quotes",
			html:  `<div class="WordSection1"><p class="MsoNormal">Pour vous.</p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>De&nbsp;:</b> Paul &lt;paul@lycee.fr&gt;<br><b>Envoyé&nbsp;:</b> lundi 3 mars 2026 10:00<br><b>À&nbsp;:</b> Jeanne<br><b>Objet&nbsp;:</b> TR: Vidéoprojecteur</p></div><p class="MsoNormal">Il est mort.</p><blockquote type="cite">vieux message</blockquote></div>`,
			want:  "Pour vous.\n\nDe : Paul <paul@lycee.fr>\nEnvoyé : lundi 3 mars 2026 10:00\nÀ : Jeanne\nObjet : TR: Vidéoprojecteur\n\nIl est mort.\n>\n> vieux message",
			rules: []string{"outlook_header_border_forward"}, removed: "vieux message",
		},
		{
			name:  "apple mail forward stays",
			html:  `<html><body>FYI<br><div><br><blockquote type="cite"><div>Begin forwarded message:</div><br class="Apple-interchange-newline"><div><b>From: </b>Paul &lt;paul@lycee.fr&gt;</div><div><b>Subject: </b>Projector</div><div><b>Date: </b>3 March 2026 at 10:00:00 CET</div><br><div>It is dead.</div></blockquote></div></body></html>`,
			want:  "FYI\n\n> Begin forwarded message:\n> From: Paul <paul@lycee.fr>\n> Subject: Projector\n> Date: 3 March 2026 at 10:00:00 CET\n> It is dead.",
			rules: []string{"blockquote_cite_forward"}, removed: "It is dead",
		},
		{
			name: "a reply quoting a forward loses the quote",
			html: `<div dir="ltr">Done.</div><div class="gmail_quote"><div class="gmail_attr">On Mon, Mar 3, 2026 at 10:00 AM Support &lt;support@lycee.fr&gt; wrote:<br></div><blockquote class="gmail_quote"><div>---------- Forwarded message ---------<br>From: Paul<br>Subject: x<br></div><div>old</div></blockquote></div>`,
			want: "Done.", rules: []string{"gmail_quote"}, removed: "Forwarded message",
		},
		{
			name:  "a border-top div without a header block is content",
			html:  `<p>Tableau :</p><div style="border-top:solid #E1E1E1 1.0pt">Salle 12 : HS</div>`,
			rules: nil,
		},
		{
			name:  "a bare blockquote is a citation of the reply itself",
			html:  `<p>As the manual says:</p><blockquote>Restart twice.</blockquote>`,
			rules: nil,
		},
		{
			name: "gmx / web.de de, div name=quote",
			html: `<html><head></head><body><div style="font-family: Verdana"><div>Danke, geht wieder.</div><div>&nbsp;</div><div>&nbsp;
<div name="quote" style="margin:10px 5px 5px 10px; padding: 10px 0 10px 10px; border-left:2px solid #C3D9E5; word-wrap: break-word;"><div style="margin:0 0 10px 0;"><b>Gesendet:</b>&nbsp;Montag, 03. März 2026 um 10:00 Uhr<br><b>Von:</b>&nbsp;"Support" &lt;support@schule.de&gt;<br><b>An:</b>&nbsp;jeanne@web.de<br><b>Betreff:</b>&nbsp;Ihre Anfrage</div><div name="quoted-content">Bitte versuchen Sie es erneut.</div></div></div></div></body></html>`,
			want: "Danke, geht wieder.", rules: []string{"gmx_quote"}, removed: "erneut",
		},
		{
			name: "tutanota",
			html: `<div>Confirmed.</div><div><br></div><div class="tutanota_quote"><div>On 3/3/2026 10:00, support@lycee.fr wrote:</div><blockquote class="tutanota_quote">Do you confirm?</blockquote></div>`,
			want: "Confirmed.", rules: []string{"tutanota_quote"}, removed: "Do you confirm",
		},
		{
			name: "zoho",
			html: `<div>Merci.<br></div><div class="zmail_extra_hr" style="border-top: 1px solid rgb(204, 204, 204); height: 0px; margin-top: 10px;"><br></div><div class="zmail_extra" data-zbluepencil-ignore="true"><div><br></div><div id="Zm-_Id_-Sgn1">---- Le lun., 03 mars 2026 10:00:00 +0100 <b>Support &lt;support@lycee.fr&gt;</b> a écrit ---<br></div><blockquote style="margin: 0px;"><div>Avez-vous redémarré ?</div></blockquote></div>`,
			want: "Merci.", rules: []string{"zoho_extra"}, removed: "redémarré",
		},
		{
			name: "new outlook, rgb border and reference container",
			html: `<div class="elementToProof">Réglé.</div><div id="mail-editor-reference-message-container"><div class="ms-outlook-mobile-reference-message skipProofing"></div><div style="text-align: left; padding: 3pt 0in 0in; border-width: 1pt medium medium; border-style: solid none none; border-color: rgb(181, 196, 223) currentcolor currentcolor; font-family: Aptos; font-size: 12pt;"><b>De :</b> Support &lt;support@lycee.fr&gt;<br><b>Date :</b> lundi, 3 mars 2026 à 10:00<br><b>À :</b> Jeanne &lt;jeanne@lycee.fr&gt;<br><b>Objet :</b> Votre demande<br></div><div>Toujours en panne ?</div></div>`,
			want: "Réglé.", rules: []string{"outlook_reference_message"}, removed: "Toujours en panne",
		},
		{
			name: "outlook top border written 1pt solid rgb",
			html: `<div>Done.</div><div style="border:none; border-top:1pt solid rgb(225, 225, 225); padding:3pt 0cm 0cm 0cm"><p><b>From:</b> Support &lt;support@lycee.fr&gt;<br><b>Sent:</b> Monday, March 3, 2026 10:00 AM<br><b>To:</b> Jeanne<br><b>Subject:</b> RE: Printer</p></div><p>Is it still broken?</p>`,
			want: "Done.", rules: []string{"outlook_header_border"}, removed: "still broken",
		},
		{
			name: "gmail de",
			html: `<div dir="ltr">Danke!</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">Am Mo., 3. März 2026 um 10:00 Uhr schrieb Support &lt;<a href="mailto:support@schule.de">support@schule.de</a>&gt;:<br></div><blockquote class="gmail_quote"><div>Hallo</div></blockquote></div>`,
			want: "Danke!", rules: []string{"gmail_quote"}, removed: "schrieb",
		},
		{
			name: "apple mail nl, attribution div before blockquote type=cite",
			html: `<html><body>Opgelost.<div><br><div><div>Op 3 mrt. 2026, om 10:00 heeft Support &lt;support@school.nl&gt; het volgende geschreven:</div><br class="Apple-interchange-newline"><blockquote type="cite"><div>Werkt het nu?</div></blockquote></div></div></body></html>`,
			want: "Opgelost.", rules: []string{"blockquote_cite"}, removed: "het volgende geschreven",
		},
		{
			name: "zimbra markers without zwchr",
			html: `<div>Bien reçu.</div><hr data-marker="__DIVIDER__"><div data-marker="__HEADERS__"><b>De: </b>"Support" &lt;support@lycee.fr&gt;<br><b>À: </b>Jeanne<br><b>Envoyé: </b>Lundi 3 Mars 2026 10:00:00<br><b>Objet: </b>Votre demande</div><div data-marker="__QUOTED_TEXT__">Avez-vous reçu le colis ?</div>`,
			want: "Bien reçu.", rules: []string{"zimbra_divider"}, removed: "colis",
		},
		{
			name: "outlook for mac",
			html: `<div>Fixed.</div><div><br></div><div id="MAC_OUTLOOK_ATTRIBUTION_BLOCK" style="font-family:Calibri"><b>From: </b>Support &lt;support@lycee.fr&gt;<br><b>Date: </b>Monday, 3 March 2026 at 10:00<br><b>To: </b>Jeanne<br><b>Subject: </b>Printer<br></div><div><br></div><blockquote id="MAC_OUTLOOK_ATTRIBUTION_BLOCKQUOTE" style="BORDER-LEFT: #b5c4df 5 solid"><div>Still broken?</div></blockquote>`,
			want: "Fixed.", rules: []string{"outlook_message_header"}, removed: "Still broken",
		},
		{
			name: "outlook 2003 OutlookMessageHeader",
			html: `<div><font size=2>OK.</font></div><div class=OutlookMessageHeader lang=en-us dir=ltr align=left><hr tabindex=-1><font face=Tahoma size=2><b>From:</b> Support [mailto:support@lycee.fr]<br><b>Sent:</b> Monday, March 03, 2026 10:00 AM<br><b>To:</b> Jeanne<br><b>Subject:</b> Printer<br></font><br></div><div>Still broken?</div>`,
			want: "OK.", rules: []string{"outlook_message_header"}, removed: "Still broken",
		},
		{
			name: "outlook ios, mobile signature after the quote structure",
			html: `<div dir="ltr">Yes.</div><div id="ms-outlook-mobile-signature">Get <a href="https://aka.ms/o0ukef">Outlook for iOS</a></div><div id="mail-editor-reference-message-container"><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Support &lt;support@lycee.fr&gt;<br><b>Sent:</b> Monday, March 3, 2026 10:00:00 AM<br><b>To:</b> Jeanne<br><b>Subject:</b> Printer</div><div>Still broken?</div></div>`,
			want: "Yes.", rules: []string{"outlook_reference_message"}, removed: "Still broken",
		},
		{
			name:  "gmail's quote button in the person's text stays",
			html:  `<div dir="ltr">The manual says:<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">Restart twice.</blockquote><div>It did not help.</div></div>`,
			rules: nil,
		},
		{
			name:  "gmail's quote button ending the person's text stays",
			html:  `<div dir="ltr">The manual says:<blockquote class="gmail_quote">Restart twice.</blockquote></div>`,
			rules: nil,
		},
		{
			name: "gmail blockquote after an attribution, without the container",
			html: `<div dir="ltr">Fixed.</div><div dir="ltr">On Mon, Mar 3, 2026 at 10:00 AM Support &lt;support@lycee.fr&gt; wrote:<br></div><blockquote class="gmail_quote">Still broken?</blockquote>`,
			want: "Fixed.", rules: []string{"gmail_blockquote"}, removed: "Still broken",
		},
		{
			name:  "a div named quote with text after it is an inline answer",
			html:  `<div name="quote"><b>Von:</b> Support &lt;support@schule.de&gt;<br><b>Gesendet:</b> Montag<br><div name="quoted-content">Welcher Raum?</div></div><div>Raum 12.</div>`,
			rules: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, cuts := visibleFromHTML(c.html)
			var rules []string
			for _, k := range cuts {
				rules = append(rules, k.Rule)
			}
			if strings.Join(rules, ",") != strings.Join(c.rules, ",") {
				t.Fatalf("rules %q, want %q (cuts %+v)", rules, c.rules, cuts)
			}
			if c.rules == nil {
				if got != "" {
					t.Fatalf("nothing should be removed, got visible %q", got)
				}
				return
			}
			if got != c.want {
				t.Errorf("visible %q, want %q", got, c.want)
			}
			for _, k := range cuts {
				// a forward is found by a rule and kept, never removed
				if k.Kept != strings.HasSuffix(k.Rule, "_forward") {
					t.Errorf("cut %+v: Kept must mark exactly the forwards", k)
				}
			}
			if !strings.Contains(cuts[0].Text, c.removed) {
				t.Errorf("cut %q does not hold %q", cuts[0].Text, c.removed)
			}
		})
	}
}

// TestMessageVisibleFromHTML checks that Message takes Visible from the HTML when the
// HTML marks the quote, though the text alternative has no marker the text rules know.
func TestMessageVisibleFromHTML(t *testing.T) {
	raw := "From: Jeanne <jeanne@lycee.fr>\r\nTo: support@lycee.fr\r\nSubject: Re: Imprimante\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nC'est réglé.\r\n\r\nlun. 3 mars 2026, Support:\r\nAvez-vous redémarré ?\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div dir=\"ltr\">C'est réglé.</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">lun. 3 mars 2026, Support:</div><blockquote class=\"gmail_quote\">Avez-vous redémarré ?</blockquote></div>\r\n" +
		"--b--\r\n"
	in, err := Message(context.Background(), []byte(raw), HashOnly{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Visible != "C'est réglé." {
		t.Errorf("Visible %q", in.Visible)
	}
	if !strings.Contains(in.Text, "Avez-vous redémarré") {
		t.Errorf("Text lost the quote: %q", in.Text)
	}
}

// TestMessageForwardFromHTML checks that an Outlook forward, whose text alternative the
// text rules read as a quote header block, stays visible through the HTML.
func TestMessageForwardFromHTML(t *testing.T) {
	raw := "From: Jeanne <jeanne@lycee.fr>\r\nTo: support@lycee.fr\r\nSubject: TR: Vidéoprojecteur\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPour vous.\r\n\r\nDe : Paul <paul@lycee.fr>\r\nEnvoyé : lundi 3 mars 2026 10:00\r\nÀ : Jeanne\r\nObjet : Vidéoprojecteur\r\n\r\nIl est mort.\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div class=\"WordSection1\"><p class=\"MsoNormal\">Pour vous.</p><div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm\"><p class=\"MsoNormal\"><b>De&nbsp;:</b> Paul &lt;paul@lycee.fr&gt;<br><b>Envoyé&nbsp;:</b> lundi 3 mars 2026 10:00<br><b>À&nbsp;:</b> Jeanne<br><b>Objet&nbsp;:</b> TR: Vidéoprojecteur</p></div><p class=\"MsoNormal\">Il est mort.</p></div>\r\n" +
		"--b--\r\n"
	in, err := Message(context.Background(), []byte(raw), HashOnly{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Visible, "Pour vous.") || !strings.Contains(in.Visible, "Il est mort.") || !strings.Contains(in.Visible, "TR: Vidéoprojecteur") {
		t.Errorf("Visible %q lost the forward", in.Visible)
	}
}

// TestStripQuotedHTMLHostile feeds broken and huge HTML: no panic, bounded time, and
// nothing removed from what cannot be read as a quote structure.
func TestStripQuotedHTMLHostile(t *testing.T) {
	deep := strings.Repeat(`<blockquote type="cite">`, 5<<20/len(`<blockquote type="cite">`))
	wide := strings.Repeat(`<blockquote type="cite">q</blockquote>`, 5<<20/len(`<blockquote type="cite">q</blockquote>`))
	divs := "<p>Réponse</p>" + strings.Repeat("<div>", 200) + `<blockquote type="cite">vieux</blockquote>`
	cases := []struct {
		name, html string
		keep       string // text that must stay visible, or "" for no cut at all
	}{
		{"5 MB of nested blockquotes", deep, ""},
		{"5 MB of sibling blockquotes", wide, ""},
		{"thousands of header markers without headers", strings.Repeat(`<hr id="zwchr">`+strings.Repeat("texte ", 16), 40000), ""},
		{"unclosed tags", `<p>Réponse<div class="gmail_quote"><div class="gmail_attr">On Mon, Mar 3, 2026 at 10:00 AM X wrote:<blockquote class="gmail_quote">vieux`, "Réponse"},
		{"NUL bytes", "Merci\x00 !<div class=\"gmail_quote\">\x00<blockquote type=\"cite\">\x00vieux</blockquote></div>", "Merci"},
		{"deep but within bounds", divs, "Réponse"},
		{"stray end tags", `</blockquote></div>Réponse</div><blockquote type="cite">q</blockquote></blockquote></html>`, "Réponse"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			got, cuts := visibleFromHTML(c.html)
			// generous: the machine is shared; quadratic work on 5 MB would take minutes
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
			if c.keep == "" {
				if len(cuts) != 0 {
					t.Errorf("cut %d regions, got %q", len(cuts), truncate(got, 100))
				}
				return
			}
			if !strings.Contains(got, c.keep) || strings.Contains(got, "vieux") {
				t.Errorf("visible %q, want %q without the quote (cuts %+v)", got, c.keep, cuts)
			}
		})
	}
}

// TestStripQuotedHTMLManyQuotes checks the cost when many quote structures are followed
// by much text: one look at the rest, not one per quote.
func TestStripQuotedHTMLManyQuotes(t *testing.T) {
	s := strings.Repeat(`<blockquote type="cite">q</blockquote>`, maxQuoteCandidates) + strings.Repeat("mot ", 1<<20)
	start := time.Now()
	if _, cuts := visibleFromHTML(s); len(cuts) != 0 {
		t.Errorf("text after the quotes is an answer: nothing may go, cut %d", len(cuts))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestMessageOutlookHTMLForward checks that an Outlook HTML forward ("TR:" subject, a
// header block showing the forwarded mail's own subject) keeps the forwarded mail
// visible, while the same HTML under "RE:" loses the quote.
func TestMessageOutlookHTMLForward(t *testing.T) {
	body := `<div class="WordSection1"><p class="MsoNormal">Pour vous, de la part de Paul.</p><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>De&nbsp;:</b> Paul &lt;paul@lycee.fr&gt;<br><b>Envoyé&nbsp;:</b> lundi 3 mars 2026 10:00<br><b>À&nbsp;:</b> Jeanne<br><b>Objet&nbsp;:</b> Vidéoprojecteur</p></div><p class="MsoNormal">Le vidéoprojecteur de la salle 12 est mort.</p></div>`
	for _, c := range []struct {
		subject string
		keep    bool
	}{{"TR: Vidéoprojecteur", true}, {"FW: Vidéoprojecteur", true}, {"RE: Vidéoprojecteur", false}} {
		raw := "From: Jeanne <jeanne@lycee.fr>\r\nTo: support@lycee.fr\r\nSubject: " + c.subject + "\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
		var cuts []QuoteCut
		in, err := message(context.Background(), strings.NewReader(raw), int64(len(raw)), []byte(raw), HashOnly{}, Options{}, &cuts)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(in.Visible, "salle 12 est mort"); got != c.keep || !strings.HasPrefix(in.Visible, "Pour vous") {
			t.Errorf("%s: visible %q", c.subject, in.Visible)
		}
		if len(cuts) != 1 || cuts[0].Kept != c.keep || !strings.HasPrefix(cuts[0].Rule, "html:outlook_header_border") {
			t.Errorf("%s: cuts %+v", c.subject, cuts)
		}
	}
}

// FuzzMayQuoteHTML: when mayQuoteHTML says no, no element of the HTML is one that
// quoteRule names, and stripQuotedHTMLOf leaves the HTML alone as it did before it
// looked.
func FuzzMayQuoteHTML(f *testing.F) {
	htmlSeeds(f)
	for _, s := range []string{
		"<BLOCKQUOTE>q</BLOCKQUOTE>", "<BlockQuote type=cite>", "<div CLASS\t=\f\"gmail_quote\">q</div>", "<p class=gmail_quote>",
		`<div style="b&#111;rder-top:solid #E1E1E1 1.0pt">`, `<div STYLE = "BORDER-TOP: 1pt solid rgb(225,225,225)">`,
		`<div style="border-color: rgb(225, 225, 225)">`, `<div style="margin:0">x</div>`, "<hr ID=stopSpelling>", "<div NAME=quote>",
		`<hr data-marker="__DIVIDER__">`, "<div id\n=divRplyFwdMsg>", "<div =class=x>", "<div class>", "<div class/=x>",
		"<p style=\"margin:0\">Bonjour<br></p>\r\n<table><tr><td><b>RNE</b></td></tr></table><img src=\"cid:logo@x\">",
		"< blockquote>", "<blockquote", "<div\x00class=gmail_quote>", "<div cla\x00ss=gmail_quote>", "<div class=\"yahoo&#95;quoted\">",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if mayQuoteHTML(s) {
			return
		}
		var walk func(n *hnode)
		walk = func(n *hnode) {
			for _, k := range n.kids {
				if rule, _ := quoteRule(k); rule != "" {
					t.Fatalf("mayQuoteHTML(%q) = false, but %s element at %d is %s", s, k.tag, k.start, rule)
				}
				walk(k)
			}
		}
		if root := buildHTMLTree(s); root != nil {
			walk(root)
		}
	})
}
