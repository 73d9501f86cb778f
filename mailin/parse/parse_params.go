package parse

import (
	"sort"
	"strconv"
	"strings"
)

// parseMediaHeader parses a Content-Type or Content-Disposition value leniently: the
// lower-cased value before the first ';' and its parameters with lower-cased names.
// RFC 2231 extended and continued parameters are joined and decoded in any charset,
// RFC 2047 encoded-words inside parameter values (common, though not standard) are
// decoded, and raw 8-bit bytes are read in the fallback charset.
func parseMediaHeader(v, fallback string) (string, map[string]string) {
	v = unfold(v)
	typ, rest, _ := strings.Cut(v, ";")
	typ = strings.ToLower(strings.TrimSpace(typ))
	if i := strings.IndexAny(typ, " \t\"("); i >= 0 {
		typ = typ[:i]
	}
	type segment struct {
		n       int
		val     string
		encoded bool
	}
	// the plain parameters go to params, decoded, as they come (the first of a name
	// wins); the RFC 2231 ones, rarer, are gathered apart and override them after
	params := map[string]string{}
	var ext map[string]string
	var segs map[string][]segment
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t;")
		if rest == "" {
			break
		}
		eq := strings.IndexAny(rest, "=;")
		if eq < 0 || rest[eq] == ';' {
			if eq < 0 {
				break
			}
			rest = rest[eq+1:]
			continue
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				c := rest[i]
				if c == '\\' && i+1 < len(rest) && (rest[i+1] == '"' || rest[i+1] == '\\') {
					i++
					b.WriteByte(rest[i])
					continue
				}
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			val = b.String()
			if i < len(rest) {
				rest = rest[i+1:]
			} else {
				rest = ""
			}
			if j := strings.IndexByte(rest, ';'); j >= 0 {
				rest = rest[j:]
			} else {
				rest = ""
			}
		} else {
			j := strings.IndexByte(rest, ';')
			if j < 0 {
				j = len(rest)
			}
			val = strings.TrimSpace(rest[:j])
			rest = rest[j:]
		}
		name, star, isStar := strings.Cut(key, "*")
		switch {
		case !isStar:
			if _, dup := params[name]; !dup {
				params[name] = decodeHeader(val, fallback)
			}
		case star == "":
			if ext == nil {
				ext = map[string]string{}
			}
			ext[name] = val
		default:
			encoded := strings.HasSuffix(star, "*")
			n, err := strconv.Atoi(strings.TrimSuffix(star, "*"))
			if err == nil {
				if segs == nil {
					segs = map[string][]segment{}
				}
				segs[name] = append(segs[name], segment{n, val, encoded})
			}
		}
	}
	for k, ss := range segs {
		sort.Slice(ss, func(i, j int) bool { return ss[i].n < ss[j].n })
		cs := ""
		var b []byte
		for i, s := range ss {
			val := s.val
			if s.encoded {
				if i == 0 {
					cs, val = split2231(val)
				}
				b = append(b, pctDecode(val)...)
			} else {
				b = append(b, val...)
			}
		}
		if cs == "" {
			cs = fallback
		}
		params[k] = decodeHeader(toUTF8(cs, b), "")
	}
	for k, v := range ext {
		cs, val := split2231(v)
		if cs == "" {
			cs = fallback
		}
		params[k] = toUTF8(cs, pctDecode(val))
	}
	return typ, params
}

// split2231 splits charset'language'value; a value without quotes has no charset.
func split2231(v string) (cs, val string) {
	parts := strings.SplitN(v, "'", 3)
	if len(parts) != 3 {
		return "", v
	}
	return parts[0], parts[2]
}

func pctDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return b
}
