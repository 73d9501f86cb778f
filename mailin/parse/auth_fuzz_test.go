package parse

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// forgedAgentMail is issue 10's message: alice, an agent, closing a ticket with a header
// that claims our MTA checked her (mailin's TestSMTPForgedResults sends it over SMTP).
const forgedAgentMail = "From: alice@ecole.test\r\nSubject: Re: [#AURAN1-70] x\r\n" +
	"Authentication-Results: localhost; dmarc=pass header.from=ecole.test; dkim=pass header.d=ecole.test\r\n\r\n#statut closed\r\n"

// fuzzChannels are the channels FuzzTrustedResults picks from.
var fuzzChannels = []string{"smtp", "lmtp", "ingest", "imap", ""}

// FuzzTrustedResults reads raw header bytes as each channel would, from a trusted relay
// or not. It must not panic, and the results that count must come from fields with our
// authserv-id, in their order; none from an untrusted SMTP client, whose fields of ours
// are all counted as ignored.
func FuzzTrustedResults(f *testing.F) {
	f.Add([]byte("Received: from client.test ([127.0.0.1])\r\n\tby mx.guichet.test (Guichet) with ESMTP; Mon, 7 Dec 2026 04:00:00 +0000\r\n"+forgedAgentMail), uint8(0), false)
	f.Add([]byte("Received: from client.test ([127.0.0.1])\r\n\tby mx.guichet.test (Guichet) with ESMTP; Mon, 7 Dec 2026 04:00:00 +0000\r\n"+forgedAgentMail), uint8(0), true)
	f.Add([]byte("Authentication-Results: localhost; dmarc=pass header.from=ecole.test\r\n"+lmtpDelivery+"\r\n"+forgedAgentMail), uint8(3), false)
	f.Add([]byte("Authentication-Results: localhost 1 (x; y); dkim=pass (\"a;b\") header.d=ecole.test;;; spf=\r\nAuthentication-Results: localhost 7; dmarc=fail\r\nAuthentication-Results:\r\n\r\n"), uint8(2), false)
	f.Add([]byte("Authentication-Results: LOCALHOST.; arc=pass header.oldest-pass=0; dmarc=pass\r\n \t\x00(\r\n\r\n"), uint8(4), true)
	for _, name := range []string{"upstream-pass.eml", "forged-direct.eml"} {
		if raw, err := os.ReadFile(filepath.Join("testdata", "auth", name)); err == nil {
			f.Add(raw, uint8(1), true)
		}
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	f.Fuzz(func(t *testing.T, raw []byte, ch uint8, trust bool) {
		opt := Options{AuthServID: "localhost", Channel: fuzzChannels[int(ch)%len(fuzzChannels)], RemoteAddr: "127.0.0.1:2525"}
		if trust {
			opt.TrustedRelays = trusted
		}
		fields := rawHeaderFields(skipMboxLine(raw))
		res, ignored := trustedResults(fields, opt)
		ours := ourResults(fields, "localhost")
		if ignored < 0 || ignored > len(ours) {
			t.Fatalf("%d ignored of %d fields of ours", ignored, len(ours))
		}
		if (opt.Channel == "smtp" || opt.Channel == "lmtp") && !trust && (len(res) > 0 || ignored != len(ours)) {
			t.Fatalf("untrusted client: %d results counted, %d of %d ignored", len(res), ignored, len(ours))
		}
		// res is the results of some of our fields, in order.
		i := 0
		for _, f := range ours {
			_, rs := readResults(f.value)
			for _, r := range rs {
				if i < len(res) && reflect.DeepEqual(res[i], r) {
					i++
				}
			}
		}
		if i != len(res) {
			t.Fatalf("%d of %d results do not come from a field of ours", len(res)-i, len(res))
		}
		a := checkAuth(context.Background(), skipMboxLine(raw), func() io.Reader { return bytes.NewReader(skipMboxLine(raw)) }, "alice@ecole.test", opt)
		if (a.Source == authSourceResults) != (len(res) > 0) || a.Ignored != ignored {
			t.Fatalf("checkAuth %+v, with %d results and %d ignored", a, len(res), ignored)
		}
	})
}

// rawHeaderFieldsRef is rawHeaderFields as it was written first, a line at a time: the
// reference the faster one must agree with.
func rawHeaderFieldsRef(raw []byte) []headerField {
	var out []headerField
	var val strings.Builder
	flush := func() {
		if len(out) > 0 {
			out[len(out)-1].value = strings.TrimSpace(val.String())
		}
		val.Reset()
	}
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			break // end of the header
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			val.WriteByte(' ')
			val.WriteString(strings.TrimSpace(string(line)))
			continue
		}
		k, v, ok := strings.Cut(string(line), ":")
		if !ok {
			continue
		}
		flush()
		out = append(out, headerField{key: strings.ToLower(strings.TrimSpace(k))})
		val.WriteString(v)
	}
	flush()
	return out
}

// FuzzRawHeaderFields: rawHeaderFields reads every header as rawHeaderFieldsRef does.
func FuzzRawHeaderFields(f *testing.F) {
	for _, s := range []string{
		"", "\r\n", "A: b\r\n\r\nbody", "A: b\n \n\tc\r\n\r\n", " x\r\nA:b", "\r\r\nA: b", "A: b\r\r\r\nB: c\r\n\r\r\n",
		"A: b\r\nno colon\r\n  folded\r\nB:c", "R\u212aeceived: x\r\n", "RECEIVED : \xe9\r\n x\r\n", "A: b\r\n\r",
		"Authentication-Results: localhost; dkim=pass\r\n\theader.d=x\r\nReceived: from x\r\n by y with LMTP\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	for _, m := range corpusMessages() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, want := rawHeaderFields(raw), rawHeaderFieldsRef(raw)
		if !slices.Equal(got, want) {
			t.Fatalf("rawHeaderFields(%q) =\n%q, the reference says\n%q", raw, got, want)
		}
	})
}

// FuzzMayBeSigned: mayBeSigned says what lower-casing the header section and looking for
// the name in it says.
func FuzzMayBeSigned(f *testing.F) {
	for _, s := range []string{"", "\n\n", "DKIM-Signature: x\n\n", "dkim-signature\n\n", "X: dkim-signatur\r\n\r\n", "a\nDKIM-SIGNATURE\n\n",
		"-dkim-signature\n\n", "dkim--signature\n\n", "D\u212aIM-Signature\n\n", "\xffdkim-signature\n\n", "dkim-signature"} {
		f.Add([]byte(s))
	}
	for _, m := range corpusMessages() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		want := true
		end := -1
		for _, blank := range []string{"\n\n", "\n\r\n"} {
			if i := bytes.Index(header, []byte(blank)); i >= 0 && (end < 0 || i < end) {
				end = i
			}
		}
		if end >= 0 {
			want = bytes.Contains(bytes.ToLower(header[:end]), []byte("dkim-signature"))
		}
		if got := mayBeSigned(header); got != want {
			t.Fatalf("mayBeSigned(%q) = %v, want %v", header, got, want)
		}
	})
}
