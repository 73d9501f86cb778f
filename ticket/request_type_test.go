package ticket

import (
	"context"
	"slices"
	"testing"
	"time"
)

// A ticket made by mail has the default request type (the form's first), so that the
// list's type filter finds it; one stored before there was a default gets it when the
// service starts with one, without moving in the list (updated_at is kept).
func TestMailTicketsGetTheDefaultType(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			old := newTestService(t, db, nil) // no default: the state before this change
			jeanne, err := old.AddUser(ctx, NewUser{Email: "jeanne@ecole.test", Name: "Jeanne", UAI: "0690026D"})
			if err != nil {
				t.Fatal(err)
			}
			r1 := accept(t, old, testMail("jeanne@ecole.test", "Imprimante", "m1@ecole.test"))
			typed, err := old.CreateTicket(ctx, jeanne, TicketRequest{NewTicket: NewTicket{Summary: "Wifi", Description: "x", UAI: "0690026D", RequestType: "Demande d'information"}})
			if err != nil {
				t.Fatal(err)
			}
			var before time.Time
			if err := db.Get(&before, db.Rebind("SELECT updated_at FROM tickets WHERE key = ?"), r1.TicketKey); err != nil {
				t.Fatal(err)
			}
			old.Close()

			s, err := NewService(ctx, db, Options{PublicURL: "http://127.0.0.1:8080", Secret: []byte("0123456789abcdef0123"), DefaultRequestType: "Incident"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			r2 := accept(t, s, testMail("jeanne@ecole.test", "Scanner", "m2@ecole.test"))
			p, err := s.Search(ctx, jeanne, Filter{Type: "Incident"})
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, it := range p.Items {
				keys = append(keys, it.Key)
			}
			if len(keys) != 2 || !slices.Contains(keys, r1.TicketKey) || !slices.Contains(keys, r2.TicketKey) {
				t.Errorf("Incident lists %v, want %s (stored before) and %s (new)", keys, r1.TicketKey, r2.TicketKey)
			}
			d, err := s.DetailFor(ctx, jeanne, typed.Key)
			if err != nil || d.RequestType != "Demande d'information" {
				t.Errorf("a chosen type was changed: %q %v", d.RequestType, err)
			}
			var after time.Time
			if err := db.Get(&after, db.Rebind("SELECT updated_at FROM tickets WHERE key = ?"), r1.TicketKey); err != nil {
				t.Fatal(err)
			}
			if !after.Equal(before) {
				t.Errorf("updated_at moved: %v → %v", before, after)
			}
		})
	}
}
