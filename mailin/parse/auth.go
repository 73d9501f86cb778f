package parse

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"golang.org/x/net/publicsuffix"

	"github.com/guichet/guichet/ticket"
)

// Sources of ticket.Auth.
const (
	authSourceResults = "authentication-results"
	authSourceCheck   = "dkim-check"
)

// checkAuth fills the sender-authentication results of a mail whose From address is
// from. Results come from our own Authentication-Results that a trusted MTA added (see
// trustedResults) or, when there are none and opt.CheckDKIM is set, from our own DKIM
// verification of raw. The fields of ours that did not count are counted in Ignored.
//
// header is the message's header section (after any mbox line), msg opens a reader of
// the whole message from that header on (read only for a DKIM check).
func checkAuth(ctx context.Context, header []byte, msg func() io.Reader, from string, opt Options) ticket.Auth {
	fields := rawHeaderFields(header)
	var a ticket.Auth
	res, ignored := trustedResults(fields, opt)
	if len(res) > 0 {
		a = authFromResults(res, from)
	} else if opt.CheckDKIM && mayBeSigned(header) {
		a = checkDKIM(ctx, msg(), from, opt.LookupTXT)
	} else if opt.CheckDKIM {
		// No signature to verify: the verifier would read the whole message (from the
		// spool for a big one) to find none.
		a = ticket.Auth{Source: authSourceCheck, DKIM: "none"}
	}
	a.Ignored = ignored
	a.Verdict = verdict(a, from)
	return a
}

// mayBeSigned reports whether the header section may hold a DKIM-Signature field: it
// does unless the section is complete (its blank line is in header) and the name appears
// nowhere in it, in any case. A false answer is certain; a true one is checked by the
// verifier.
func mayBeSigned(header []byte) bool {
	end := bytes.Index(header, []byte("\n\r\n"))
	in := header // the first "\n\n", if before end, is in header[:end+1]
	if end >= 0 {
		in = header[:end+1]
	}
	if i := bytes.Index(in, []byte("\n\n")); i >= 0 {
		end = i
	}
	if end < 0 {
		return true
	}
	if !isASCII(header[:end]) {
		// lower-casing may make ASCII of other letters (the Kelvin sign is a "k")
		return bytes.Contains(bytes.ToLower(header[:end]), []byte("dkim-signature"))
	}
	// ASCII: bytes.Contains(bytes.ToLower(h), "dkim-signature") without the copy, from
	// each "-", which has no case, at index 4 of the name
	h := header[:end]
	for i := 4; i+10 <= len(h); {
		j := bytes.IndexByte(h[i:len(h)-9], '-')
		if j < 0 {
			return false
		}
		i += j
		if equalFoldASCII(h[i-4:i+10], "dkim-signature") {
			return true
		}
		i++
	}
	return false
}

// equalFoldASCII reports whether b (at least as long as w) starts with the lower-case
// ASCII w, its ASCII letters in any case (no other rune lower-cases to an ASCII letter
// but the Kelvin sign and the dotted I, which are not ASCII bytes).
func equalFoldASCII[T []byte | string](b T, w string) bool {
	for i := range len(w) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// authFromResults sums up the results of our Authentication-Results headers: for DKIM,
// a pass aligned with the From domain wins, then any pass, then the first other result.
func authFromResults(res []authres.Result, from string) ticket.Auth {
	a := ticket.Auth{Source: authSourceResults}
	var dkim []dkimOutcome
	for _, r := range res {
		switch r := r.(type) {
		case *authres.DKIMResult:
			d := r.Domain
			if d == "" {
				d = domainOf(r.Identifier)
			}
			dkim = append(dkim, dkimOutcome{string(r.Value), strings.ToLower(d)})
		case *authres.SPFResult:
			if a.SPF == "" {
				a.SPF = string(r.Value)
				a.SPFDomain = domainOf(r.From)
				if a.SPFDomain == "" {
					a.SPFDomain = strings.ToLower(r.Helo)
				}
			}
		case *authres.DMARCResult:
			if a.DMARC == "" {
				a.DMARC = string(r.Value)
			}
		}
	}
	a.DKIM, a.DKIMDomain = pickDKIM(dkim, from)
	return a
}

// dkimOutcome is the result of one DKIM signature.
type dkimOutcome struct{ result, domain string }

// pickDKIM chooses the DKIM result to record among several signatures.
func pickDKIM(l []dkimOutcome, from string) (string, string) {
	for _, o := range l {
		if o.result == "pass" && aligned(o.domain, domainOf(from)) {
			return o.result, o.domain
		}
	}
	for _, o := range l {
		if o.result == "pass" {
			return o.result, o.domain
		}
	}
	if len(l) > 0 {
		return l[0].result, l[0].domain
	}
	return "", ""
}

// verdict applies the contract: pass on a DMARC pass or on a DKIM pass whose d= is
// aligned (relaxed) with the From domain; fail on a DMARC fail, or when DKIM and SPF
// both fail; none otherwise. A DKIM failure alone is not evidence of forgery: mailing
// lists break signatures every day.
func verdict(a ticket.Auth, from string) ticket.AuthVerdict {
	switch a.DMARC {
	case "pass":
		return ticket.AuthPass
	case "fail":
		return ticket.AuthFail
	}
	if a.DKIM == "pass" && aligned(a.DKIMDomain, domainOf(from)) {
		return ticket.AuthPass
	}
	if a.DKIM == "fail" && (a.SPF == "fail" || a.SPF == "hardfail") {
		return ticket.AuthFail
	}
	return ticket.AuthNone
}

// aligned reports whether two domains are in relaxed alignment (RFC 7489 section
// 3.1): the same organizational domain.
func aligned(d, from string) bool {
	d, from = strings.TrimSuffix(strings.ToLower(d), "."), strings.TrimSuffix(strings.ToLower(from), ".")
	if d == "" || from == "" {
		return false
	}
	if d == from {
		return true
	}
	od, err1 := publicsuffix.EffectiveTLDPlusOne(d)
	of, err2 := publicsuffix.EffectiveTLDPlusOne(from)
	return err1 == nil && err2 == nil && od == of
}

// domainOf returns the lower-case domain of an address ("a@b.c", "@b.c", "b.c").
func domainOf(addr string) string {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		addr = addr[i+1:]
	}
	return strings.ToLower(addr)
}
