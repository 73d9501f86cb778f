package mailout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDirSender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sent")
	s := NewDirSender(dir)
	s.Now = func() time.Time { return fixedDate }
	msg := sampleBytes(t)
	reply, err := s.SendReply(context.Background(), "support@localhost", []string{"elodie.martin@ac-lyon.fr"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d files, want 1 (no temporary file left)", len(entries))
	}
	name := entries[0].Name()
	if name != "20261128T122100.000000000Z-guichet.7.a1b2_localhost.eml" || reply != "written "+name {
		t.Errorf("file %s, reply %q", name, reply)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	head := "Return-Path: <support@localhost>\r\nDelivered-To: elodie.martin@ac-lyon.fr\r\n"
	if !strings.HasPrefix(string(b), head) || !bytes.Equal(b[len(head):], msg) {
		t.Errorf("file content:\n%s", b)
	}

	if err := s.Send(context.Background(), "support@localhost", []string{"x@y.z"}, []byte("no header")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files, want 2", len(entries))
	}
}
