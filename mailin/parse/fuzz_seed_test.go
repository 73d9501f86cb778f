package parse

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Fuzz targets start from a few committed seeds and, when the shared corpora are on this
// machine (GUICHET_CORPORA, else ../../../shared/corpora as for the corpus tests), from
// their files too. Without them the targets run all the same: no target needs them.

// maxSeedSize keeps big corpus files out of the seeds: they slow every fuzz iteration
// down and find nothing a small file would not.
const maxSeedSize = 64 << 10

// corporaBase is the folder of the shared corpora: GUICHET_CORPORA, else the corpora
// beside the repository (this package is three levels below the repository's parent).
func corporaBase() string {
	if base := os.Getenv("GUICHET_CORPORA"); base != "" {
		return base
	}
	return filepath.Join("..", "..", "..", "shared", "corpora")
}

// corpusSeeds returns the corpora's files whose names end with one of suffixes, at most
// maxSeedSize bytes each; nil when the corpora are absent.
func corpusSeeds(suffixes ...string) [][]byte {
	var out [][]byte
	_ = filepath.WalkDir(corporaBase(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		ok := false
		for _, s := range suffixes {
			ok = ok || strings.HasSuffix(p, s)
		}
		if info, err := d.Info(); !ok || err != nil || info.Size() > maxSeedSize {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
		return nil
	})
	return out
}

// corpusMessages returns the corpora's messages (mbox boxes, .eml files and the MIME
// parser corpus's .txt messages).
func corpusMessages() [][]byte {
	var out [][]byte
	for _, b := range corpusSeeds(".eml", ".box", ".txt") {
		// keep what starts like a header: the reply corpora's .txt files are bodies
		if i := strings.IndexByte(string(b[:min(len(b), 200)]), ':'); i > 0 && !strings.ContainsAny(string(b[:i]), " \n") {
			out = append(out, b)
		}
	}
	return out
}

// headerValues returns the values of the header fields of msgs, for the header decoders.
func headerValues(msgs [][]byte, keys ...string) []string {
	var out []string
	for _, m := range msgs {
		head, _, _ := strings.Cut(strings.ReplaceAll(string(m), "\r\n", "\n"), "\n\n")
		for _, l := range strings.Split(strings.ReplaceAll(head, "\n\t", " "), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			for _, want := range keys {
				if strings.EqualFold(k, want) {
					out = append(out, strings.TrimSpace(v))
				}
			}
		}
	}
	return out
}

// issueCases are the messages of issue 10 that broke the parser.
var issueCases = []string{
	"From: a@b.test\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\ntext\r\n--X\r\nContent-Type: image/png; name=a.png\r\n\r\nrawbytes\r\n",
	"Content-Type:multipart/;boundary=R\n\n--R\nContent-Type:/0",
	"From: alice@ecole.test\r\nSubject: Re: [#AURAN1-70] x\r\nAuthentication-Results: localhost; dmarc=pass header.from=ecole.test; dkim=pass header.d=ecole.test\r\n\r\n#statut closed\r\n",
	"From: a\x00b@ecole.test\r\nSubject: nul\x00 byte\r\nMessage-ID: <x\x00y@z>\r\n\r\nbody \x00 here\r\n",
}
