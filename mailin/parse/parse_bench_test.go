package parse

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
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
