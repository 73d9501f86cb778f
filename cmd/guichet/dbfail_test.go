package main

import (
	"context"
	"net"
	"net/smtp"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/mailin"
	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/ticket"
)

// TestDatabaseFailureAnswers4xx: when the database is gone, the SMTP listener answers a
// temporary 451, so the sender's MTA keeps the message; it never bounces it with a 5xx.
func TestDatabaseFailureAnswers4xx(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, _, err := ticket.Open(ctx, filepath.Join(dir, "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ticket.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	svc, err := ticket.NewService(ctx, db, ticket.Options{PublicURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	blobs, err := blob.Open(filepath.Join(dir, "attachments"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mailin.NewSMTPServer(mailin.SMTPOptions{
		SupportAddresses: []string{"support@localhost"}, Domain: "localhost",
		Deliverer: mailin.NewIntake(svc, blobs, parse.Options{}, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)

	msg := []byte("From: a@ecole.test\r\nTo: support@localhost\r\nSubject: test\r\nMessage-ID: <db1@x>\r\n\r\nBonjour\r\n")
	if err := smtp.SendMail(ln.Addr().String(), nil, "a@ecole.test", []string{"support@localhost"}, msg); err != nil {
		t.Fatalf("with the database up: %v", err)
	}
	db.Close() // the database goes away
	err = smtp.SendMail(ln.Addr().String(), nil, "a@ecole.test", []string{"support@localhost"}, []byte(strings.Replace(string(msg), "db1@x", "db2@x", 1)))
	if err == nil || !strings.HasPrefix(err.Error(), "451") {
		t.Fatalf("with the database down: %v, want a 451 reply", err)
	}
	if strings.Contains(err.Error(), "closed") || strings.Contains(err.Error(), "sql") {
		t.Fatalf("the reply leaks the internal error: %v", err)
	}
}
