package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
)

// message is one test mail: its envelope sender and its bytes (CRLF line ends).
type message struct {
	from string
	data []byte
}

var (
	firstNames = []string{"Camille", "Léa", "Hugo", "Chloé", "Théo", "Manon", "Louis", "Inès", "Jules", "Zoé", "Nathan", "Élodie"}
	lastNames  = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Girard", "Lefèvre"}
	domains    = []string{"ac-lyon.fr", "ac-grenoble.fr", "ac-clermont.fr", "college-jean-moulin.fr"}
	subjects   = []string{
		"Impossible de me connecter à l'ENT",
		"Problème d'accès au cahier de textes",
		"Imprimante de la salle 12 hors service",
		"Mot de passe élève à réinitialiser",
		"Messagerie : pièce jointe refusée",
		"Erreur lors de l'export des notes",
		"Tableau numérique interactif ne répond plus",
		"Demande de création de compte pour un remplaçant",
	}
	sentences = []string{
		"Bonjour, depuis ce matin plusieurs enseignants n'arrivent plus à accéder à leur espace.",
		"Le message d'erreur indique que la session a expiré, même juste après la connexion.",
		"Nous avons essayé avec Firefox et Chrome, sur les postes de la salle des professeurs.",
		"Les élèves de troisième ne voient plus les devoirs publiés la semaine dernière.",
		"Pourriez-vous vérifier si une maintenance est en cours sur la plateforme ?",
		"Le problème est apparu après la mise à jour de jeudi, vers 14 h.",
		"Je joins une capture d'écran du message affiché à l'écran de connexion.",
		"Merci de me tenir informé de l'avancement, la réunion parents-professeurs a lieu vendredi.",
		"Le référent numérique de l'établissement a déjà redémarré le serveur local, sans effet.",
		"Ce dysfonctionnement gêne fortement les cours de l'après-midi.",
	}
)

// makeMessages returns n unique messages of about size bytes each, whose Message-IDs
// start with tag; sizes over 16 KiB are multipart/mixed with a PDF-like attachment.
func makeMessages(tag string, first, n, size int) []message {
	out := make([]message, n)
	for k := range n {
		out[k] = makeMessage(tag, first+k, size)
	}
	return out
}

func makeMessage(tag string, i, size int) message {
	rng := rand.New(rand.NewPCG(uint64(i), uint64(size)))
	fn, ln := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
	addr := fmt.Sprintf("%s.%s.%d@%s", ascii(fn), ascii(ln), i, domains[rng.IntN(len(domains))])
	subj := fmt.Sprintf("%s (n° %d)", subjects[rng.IntN(len(subjects))], i)
	date := time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)

	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from mta.%s (mta.%s [192.0.2.10])\r\n\tby mx.localhost with ESMTPS id %s%d\r\n\tfor <support@localhost>; %s\r\n",
		domains[0], domains[0], tag, i, date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", fn+" "+ln), addr)
	b.WriteString("To: Assistance ENT <support@localhost>\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subj))
	fmt.Fprintf(&b, "Message-ID: <%s.%d.%d@%s>\r\n", tag, size, i, domains[0])
	b.WriteString("MIME-Version: 1.0\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.4.0\r\nContent-Language: fr\r\n")
	text := frenchText(rng, fn+" "+ln, min(size, 16<<10)-b.Len()-300)
	if size <= 16<<10 {
		b.WriteString("Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		writeQP(&b, text)
		return message{from: addr, data: b.Bytes()}
	}
	boundary := fmt.Sprintf("------------%016x", rng.Uint64())
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	writeQP(&b, text)
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: application/pdf; name=\"capture-%d.pdf\"\r\nContent-Disposition: attachment; filename=\"capture-%d.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, i, i)
	rest := size - b.Len() - len(boundary) - 8
	writeBase64Lines(&b, fakePDF(rng, max(rest, 0)*3/4))
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return message{from: addr, data: b.Bytes()}
}

// frenchText is a signed French body of about n bytes.
func frenchText(rng *rand.Rand, name string, n int) string {
	var b strings.Builder
	b.WriteString("Bonjour,\n\n")
	for b.Len() < n {
		b.WriteString(sentences[rng.IntN(len(sentences))])
		if rng.IntN(4) == 0 {
			b.WriteString("\n\n")
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\n\nCordialement,\n" + name + "\nCollège Jean Moulin\n")
	return b.String()
}

func writeQP(b *bytes.Buffer, text string) {
	w := quotedprintable.NewWriter(b)
	w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	w.Close()
	b.WriteString("\r\n")
}

// fakePDF is n bytes that start and end like a PDF, incompressible in between.
func fakePDF(rng *rand.Rand, n int) []byte {
	head, tail := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nstream\n"), []byte("\nendstream\n%%EOF\n")
	p := make([]byte, max(n, len(head)+len(tail)))
	copy(p, head)
	for i := len(head); i < len(p)-len(tail); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(p)-len(tail); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	copy(p[len(p)-len(tail):], tail)
	return p
}

func writeBase64Lines(b *bytes.Buffer, p []byte) {
	enc := base64.StdEncoding.EncodeToString(p)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
}

// ascii lower-cases a name and drops its accents, for an address.
func ascii(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "É", "e", "ï", "i", "î", "i", "ô", "o", "ç", "c")
	return strings.ToLower(r.Replace(s))
}
