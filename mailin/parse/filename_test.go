package parse

import "testing"

// TestCleanFilename: a sender's file name keeps its base name only, never a path, a
// control character or a name of dots or slashes alone.
func TestCleanFilename(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"rapport.pdf", "rapport.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\x\photo.jpg`, "photo.jpg"},
		{"\\", ""},
		{"///", ""},
		{"..", ""},
		{"a/..", ""},
		{"na\x00me\r\n.txt", "name.txt"},
		{"  espace.txt  ", "espace.txt"},
	} {
		if got := cleanFilename(c.in); got != c.want {
			t.Errorf("cleanFilename(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
