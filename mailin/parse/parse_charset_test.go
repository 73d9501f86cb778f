package parse

import "testing"

func TestFirstCharset(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"", ""},
		{"Subject: x\r\n\r\nno parameter here = at all", ""},
		{"Content-Type: text/plain; charset=ISO-8859-1\r\n", "iso-8859-1"},
		{"Content-Type: text/plain; CHARSET=\"Windows-1252\"\r\n", "windows-1252"},
		{"Content-Type: text/plain; Charset='koi8-r'\r\n", "koi8-r"},
		{"charset=iso-8859-15", "iso-8859-15"}, // at the very start
		{"=charset=big5", "big5"},
		{"harset=iso-8859-1", ""}, // too short to be the key
		{"Content-Type: text/plain; charset=utf-8\r\n\r\n--b\r\nContent-Type: text/html; charset=us-ascii\r\n" +
			"--b\r\nContent-Type: text/plain; charset=iso-8859-2\r\n", "iso-8859-2"}, // UTF-8 and ASCII are skipped
		{"a=b; c=d; e==f; charset=", ""},           // named but empty
		{"QP=C3=A9 =\r\ncharset=gb2312", "gb2312"}, // after many "="
		{"Content-Type: text/plain; charset=" + string(make([]byte, 3)), ""},
	} {
		if got := firstCharset([]byte(c.raw)); got != c.want {
			t.Errorf("firstCharset(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}
