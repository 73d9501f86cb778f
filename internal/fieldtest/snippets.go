// Package fieldtest builds the deployments that docs/deploy.md documents, from the
// documentation's own snippets, and runs them as people would: Postfix in front of
// Guichet by LMTP and by pipe, local mailboxes for a requester and an agent, outbound
// mail through that Postfix. The test needs Debian's Postfix and root (GUICHET_TEST_POSTFIX,
// set by .ci/postfix.sh); without them only the snippets' presence is checked.
package fieldtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Snippet names, as written after "field-test=" on a fenced block's info string in
// docs/deploy.md. A block carries one name; the test finds each exactly once.
const (
	SnipConfig        = "guichet.conf"   // /etc/guichet/guichet.conf
	SnipSetup         = "setup"          // the commands run once: migrate, user add
	SnipMainCF        = "main.cf"        // lines added to /etc/postfix/main.cf
	SnipTransportLMTP = "transport-lmtp" // /etc/postfix/transport for LMTP
	SnipServeLMTP     = "serve-lmtp"     // the command that runs the LMTP listener
	SnipMasterPipe    = "master.cf-pipe" // the pipe service added to /etc/postfix/master.cf
	SnipTransportPipe = "transport-pipe" // /etc/postfix/transport for the pipe
)

// AllSnippets is every snippet the field test uses.
var AllSnippets = []string{SnipConfig, SnipSetup, SnipMainCF, SnipTransportLMTP, SnipServeLMTP, SnipMasterPipe, SnipTransportPipe}

// Extract returns the body of every fenced block (``` or ~~~) whose info string has a
// field-test=NAME word, by NAME. A name found twice, or a fence left open, is an error:
// the test must know which text it runs.
func Extract(doc []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		fence, name string
		body        strings.Builder
		line, start int
	)
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimLeft(text, " ")
		if fence == "" {
			if !strings.HasPrefix(trimmed, "```") && !strings.HasPrefix(trimmed, "~~~") {
				continue
			}
			fence = trimmed[:3]
			start = line
			name = ""
			for _, w := range strings.Fields(strings.TrimLeft(trimmed, "`~")) {
				if v, ok := strings.CutPrefix(w, "field-test="); ok {
					name = v
				}
			}
			body.Reset()
			continue
		}
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" ") == "" {
			if name != "" {
				if _, dup := out[name]; dup {
					return nil, fmt.Errorf("fieldtest: snippet %q found twice (line %d)", name, start)
				}
				out[name] = body.String()
			}
			fence = ""
			continue
		}
		body.WriteString(text)
		body.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fieldtest: reading the document: %w", err)
	}
	if fence != "" {
		return nil, fmt.Errorf("fieldtest: fence opened on line %d is never closed", start)
	}
	return out, nil
}

// ExtractFile reads path and returns its snippets, failing when one of want is missing.
func ExtractFile(path string, want ...string) (map[string]string, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fieldtest: reading %s: %w", path, err)
	}
	s, err := Extract(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, n := range want {
		if _, ok := s[n]; !ok {
			return nil, fmt.Errorf("fieldtest: %s has no block marked field-test=%s", path, n)
		}
	}
	return s, nil
}

// ConfValues parses a guichet.conf snippet (name = value lines, # comments) into its
// names in order and their values, so that the test can check and change a few values
// and keep the rest as written.
func ConfValues(conf string) ([][2]string, error) {
	var out [][2]string
	for i, l := range strings.Split(conf, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, value, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("fieldtest: guichet.conf line %d: no '=' in %q", i+1, l)
		}
		out = append(out, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	return out, nil
}

// Commands splits a shell snippet into its commands' words: one command a line, # comments
// and blank lines skipped, words split on blanks except within double or single quotes
// (no escapes, no variables: the documented commands need none). A leading
// "sudo -u USER" is dropped: the test runs every command as that user itself.
func Commands(snippet string) ([][]string, error) {
	var out [][]string
	for i, l := range strings.Split(snippet, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		var (
			words []string
			cur   strings.Builder
			quote rune
			in    bool
		)
		for _, r := range l {
			switch {
			case quote != 0 && r == quote:
				quote = 0
			case quote != 0:
				cur.WriteRune(r)
			case r == '"' || r == '\'':
				quote, in = r, true
			case r == ' ' || r == '\t':
				if in {
					words = append(words, cur.String())
					cur.Reset()
					in = false
				}
			default:
				cur.WriteRune(r)
				in = true
			}
		}
		if quote != 0 {
			return nil, fmt.Errorf("fieldtest: command line %d: unclosed quote in %q", i+1, l)
		}
		if in {
			words = append(words, cur.String())
		}
		if len(words) >= 3 && words[0] == "sudo" && words[1] == "-u" {
			words = words[3:]
		}
		if len(words) > 0 {
			out = append(out, words)
		}
	}
	return out, nil
}
