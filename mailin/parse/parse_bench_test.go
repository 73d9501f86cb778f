package parse

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// benchText is French prose of about n bytes, CRLF line ends, lines under 80 bytes.
func benchText(n int) string {
	words := strings.Fields("Bonjour, depuis ce matin plusieurs enseignants n'arrivent plus à accéder à leur espace " +
		"numérique de travail. Le message d'erreur indique que la session a expiré, même juste après la connexion. " +
		"Les élèves de troisième ne voient plus les devoirs publiés la semaine dernière ; pourriez-vous vérifier ?")
	var b strings.Builder
	line := 0
	for i := 0; b.Len() < n; i++ {
		w := words[i%len(words)]
		if line+len(w) > 72 {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteString(w + " ")
		line += len(w) + 1
	}
	b.WriteString("\r\n\r\nCordialement,\r\nCamille Durand\r\n")
	return b.String()
}

const benchHeader = "Received: from mta.ac-lyon.fr (mta.ac-lyon.fr [192.0.2.10])\r\n\tby mx.localhost with ESMTPS id 4XyZ1; Mon, 10 Mar 2025 08:00:00 +0100\r\n" +
	"Date: Mon, 10 Mar 2025 08:00:00 +0100\r\nFrom: =?utf-8?q?Camille_Durand?= <camille.durand@ac-lyon.fr>\r\n" +
	"To: Assistance ENT <support@localhost>\r\nSubject: =?utf-8?q?Impossible_de_me_connecter_=C3=A0_l=27ENT?=\r\n" +
	"Message-ID: <bench.1@ac-lyon.fr>\r\nMIME-Version: 1.0\r\nUser-Agent: Thunderbird/128.4.0\r\nContent-Language: fr\r\n"

func benchPlain() []byte {
	return []byte(benchHeader + "Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		benchText(2048-len(benchHeader)-150))
}

func benchAttachment() []byte {
	var b bytes.Buffer
	b.WriteString(benchHeader + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + benchText(1200) +
		"\r\n--b1\r\nContent-Type: application/pdf; name=\"capture.pdf\"\r\nContent-Disposition: attachment; filename=\"capture.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	pdf := make([]byte, 148<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range pdf {
		pdf[i] = byte(rng.Uint32())
	}
	copy(pdf, "%PDF-1.4\n")
	enc := base64.StdEncoding.EncodeToString(pdf)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.Bytes()
}

func benchHTML() []byte {
	text := benchText(3000)
	var h strings.Builder
	h.WriteString("<html><head><style>p{font-family:Arial}</style></head><body><div dir=\"ltr\">")
	for _, p := range strings.Split(text, "\r\n") {
		fmt.Fprintf(&h, "<p style=\"margin:0\">%s<br></p>\r\n", p)
	}
	h.WriteString("<table><tr><td><b>RNE</b></td><td>0690026D</td></tr></table><img src=\"cid:logo@x\"></div></body></html>\r\n")
	return []byte(benchHeader + "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text +
		"\r\n--alt\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + h.String() + "--alt--\r\n")
}

// benchReplyText is a typical short reply from Gmail: a few lines of answer, a signature,
// the attribution line and the quoted request.
func benchReplyText() string {
	return "Bonjour,\r\n\r\nMerci pour votre réponse rapide. J'ai vidé le cache du navigateur comme indiqué\r\n" +
		"et je peux de nouveau me connecter, mais les devoirs de la semaine dernière\r\n" +
		"n'apparaissent toujours pas pour la classe de 3e B.\r\n\r\nBonne journée,\r\n\r\n-- \r\n" +
		"Camille Durand\r\nProfesseure de mathématiques, collège Jean Moulin\r\n04 72 00 00 00\r\n\r\n" +
		"Le lun. 10 mars 2025 à 08:00, Assistance ENT <support@localhost> a écrit :\r\n\r\n" +
		"> Bonjour,\r\n>\r\n> Pourriez-vous vider le cache de votre navigateur puis vous reconnecter ?\r\n" +
		"> Si le problème persiste, indiquez-nous le navigateur utilisé et l'heure\r\n> de l'erreur.\r\n>\r\n" +
		"> Cordialement,\r\n> L'assistance ENT\r\n> [#AURAN1-1042]\r\n>\r\n" +
		"> Le dim. 9 mars 2025 à 21:14, Camille Durand <camille.durand@ac-lyon.fr> a écrit :\r\n" +
		"> > Bonjour, depuis ce matin je n'arrive plus à me connecter à l'ENT.\r\n"
}

// benchReply is benchReplyText as Gmail sends it: quoted-printable in a text/plain part.
func benchReply() []byte {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(benchReplyText()))
	_ = w.Close()
	hdr := strings.Replace(benchHeader, "Subject: =?utf-8?q?Impossible", "In-Reply-To: <reply.1@localhost>\r\nReferences: <req.1@ac-lyon.fr> <reply.1@localhost>\r\nSubject: =?utf-8?q?Re=3A_=5B=23AURAN1-1042=5D_Impossible", 1)
	return []byte(hdr + "Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + b.String())
}

// BenchmarkParse parses realistic inbound mail, unsigned, with the DKIM check on as in
// guichet serve; attachments are only hashed (HashOnly).
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"text_2KB", benchPlain()},
		{"attachment_200KB", benchAttachment()},
		{"html_alternative", benchHTML()},
		{"reply_quoted", benchReply()},
	} {
		b.Run(c.name, func(b *testing.B) {
			opt := Options{SupportAddresses: []string{"support@localhost"}, LoopValue: "support@localhost",
				EnvelopeFrom: "camille.durand@ac-lyon.fr", HasEnvelope: true,
				CheckDKIM: true, LookupTXT: (&fakeDNS{}).LookupTXT} // as guichet serve (--check-dkim)
			in, err := Message(context.Background(), c.raw, HashOnly{}, opt)
			if err != nil || in.From.Email == "" || in.Text == "" {
				b.Fatalf("parse: %v %+v", err, in)
			}
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Message(context.Background(), c.raw, HashOnly{}, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVisibleText measures the quote rules alone on ordinary texts: a reply with
// its attribution, signature and quote, and prose without any quote.
func BenchmarkVisibleText(b *testing.B) {
	for _, c := range []struct{ name, text, want string }{
		{"reply", strings.ReplaceAll(benchReplyText(), "\r\n", "\n"), "Bonjour,\n\nMerci pour votre réponse rapide."},
		{"prose_3KB", strings.ReplaceAll(benchText(3000), "\r\n", "\n"), "Bonjour, depuis ce matin"},
	} {
		b.Run(c.name, func(b *testing.B) {
			if got := visibleText(c.text); !strings.HasPrefix(got, c.want) || strings.Contains(got, "a écrit") {
				b.Fatalf("visible %q", got)
			}
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				visibleText(c.text)
			}
		})
	}
}
