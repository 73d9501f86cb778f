package parse

import (
	"bytes"
	"regexp"
	"strings"
)

var uuBegin = regexp.MustCompile(`^begin [0-7]{3,4} (.+)$`)

// extractUU takes uuencoded files ("begin 644 name" … "end") out of a text body, stores
// them as attachments and returns the text without them.
func (w *walker) extractUU(s string) string {
	if !strings.Contains(s, "begin ") {
		return s
	}
	lines := strings.Split(s, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		m := uuBegin.FindStringSubmatch(strings.TrimRight(lines[i], "\r "))
		if m == nil {
			out = append(out, lines[i])
			continue
		}
		end := -1
		var data []byte
		ok := true
		for j := i + 1; j < len(lines); j++ {
			l := strings.TrimRight(lines[j], "\r")
			if l == "end" {
				end = j
				break
			}
			b, good := uuLine(l)
			ok = ok && good
			data = append(data, b...)
		}
		if end < 0 || !ok {
			out = append(out, lines[i])
			continue
		}
		name := cleanFilename(m[1])
		w.store(part{mt: mimeByName(name), name: name, disp: "attachment"}, bytes.NewReader(data))
		i = end
	}
	return strings.Join(out, "\n")
}
