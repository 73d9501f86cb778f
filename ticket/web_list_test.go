package ticket

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// listFixture: two establishments; Jeanne and Paul at 0690026D, Eve at 0690001?; an
// agent; tickets of every kind.
type listFixture struct {
	s                        *Service
	agent, jeanne, paul, eve User
	keys                     map[string]string // name → key
}

func setupList(t *testing.T, s *Service, now *time.Time) *listFixture {
	t.Helper()
	ctx := context.Background()
	f := &listFixture{s: s, keys: map[string]string{}}
	var err error
	uai2 := "0690027" + string(uaiLetters[690027%23])
	must := func(u User, err error) User {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.agent = must(s.AddUser(ctx, NewUser{Email: "alice@support.test", Name: "Alice", Role: RoleAgent}))
	f.jeanne = must(s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test", Name: "Jeanne", UAI: "0690026D"}))
	f.paul = must(s.AddUser(ctx, NewUser{Email: "paul@ecole.test", UAI: "0690026D"}))
	f.eve = must(s.AddUser(ctx, NewUser{Email: "eve@ailleurs.test", Name: "Eve", UAI: uai2}))
	if err := s.AllowParticipant(ctx, uai2, "jeanne@ecole.test"); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, by User, nt NewTicket, parts ...string) {
		t.Helper()
		*now = now.Add(time.Minute)
		req := TicketRequest{NewTicket: nt}
		for _, p := range parts {
			req.Participants = append(req.Participants, Address{Email: p})
		}
		tk, err := s.CreateTicket(ctx, by, req)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[name] = tk.Key
	}
	mk("jeanne1", f.jeanne, NewTicket{Summary: "Écran noir en salle 12", Description: "Le vidéoprojecteur ne s'allume plus", RequestType: "Incident"})
	mk("paul1", f.paul, NewTicket{Summary: "Compte élève bloqué", Description: "Mot de passe oublié", RequestType: "Demande"})
	mk("eve1", f.eve, NewTicket{Summary: "Imprimante hors service", Description: "Bourrage papier", RequestType: "Incident"})
	mk("eve2", f.eve, NewTicket{Summary: "Accès ENT parents", Description: "Les parents ne voient rien", RequestType: "Demande"}, "jeanne@ecole.test")
	mk("agent1", f.agent, NewTicket{Summary: "Maintenance serveur", Description: "Interne", RequestType: "Maintenance", UAI: "0690026D"}, "alice@support.test")
	*now = now.Add(time.Minute)
	if _, err = s.AddComment(ctx, f.agent, f.keys["eve1"], CommentInput{Body: "Toner commandé chez le fournisseur zorglub", Visibility: Internal}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Minute)
	if _, err = s.AddComment(ctx, f.agent, f.keys["jeanne1"], CommentInput{Body: "Avez-vous vérifié le câble HDMI ?"}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(-150 * time.Second) // assigning is activity too: paul1 goes between eve2 and agent1
	if err := s.Assign(ctx, f.agent, f.keys["paul1"], "alice@support.test"); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(151 * time.Second)
	if err := s.ChangeStatus(ctx, f.agent, f.keys["eve1"], StatusClosed); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *listFixture) search(t *testing.T, u User, flt Filter) []string {
	t.Helper()
	p, err := f.s.Search(context.Background(), u, flt)
	if err != nil {
		t.Fatalf("search %+v: %v", flt, err)
	}
	var out []string
	for _, r := range p.Items {
		for name, k := range f.keys {
			if k == r.Key {
				out = append(out, name)
			}
		}
	}
	if p.Total != len(out) {
		t.Errorf("search %+v: total %d, %d rows", flt, p.Total, len(out))
	}
	return out
}

func TestSearchAccessAndFilters(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			s := newTestService(t, open(t), &now)
			f := setupList(t, s, &now)
			for _, c := range []struct {
				who  User
				flt  Filter
				want []string
			}{
				// Newest activity first: the comment moved jeanne1 up, the status eve1.
				{f.jeanne, Filter{}, []string{"jeanne1", "agent1", "paul1", "eve2"}},
				{f.jeanne, Filter{Scope: ScopeMine}, []string{"jeanne1"}},
				{f.jeanne, Filter{Scope: ScopeParticipant}, []string{"eve2"}},
				{f.jeanne, Filter{Scope: ScopeEstablishment}, []string{"jeanne1", "agent1", "paul1"}},
				{f.eve, Filter{}, []string{"eve1", "eve2"}},
				{f.eve, Filter{Scope: ScopeAll, Status: []Status{StatusClosed}}, []string{"eve1"}},
				{f.agent, Filter{}, []string{"eve1", "jeanne1", "agent1", "paul1", "eve2"}},
				{f.agent, Filter{Scope: ScopeAssigned}, []string{"paul1"}},
				{f.agent, Filter{Scope: ScopeUnassigned}, []string{"eve1", "jeanne1", "agent1", "eve2"}},
				{f.agent, Filter{Status: []Status{StatusNew, StatusClosed}, Type: "Incident"}, []string{"eve1"}},
				{f.agent, Filter{Type: "Demande"}, []string{"paul1", "eve2"}},
				// Text: summary, description, comments; case and accents ignored (SQLite);
				// internal notes are searched for agents only.
				{f.agent, Filter{Q: "imprim"}, []string{"eve1"}},
				{f.agent, Filter{Q: "PAPIER bourrage"}, []string{"eve1"}},
				{f.jeanne, Filter{Q: "hdmi"}, []string{"jeanne1"}},
				{f.agent, Filter{Q: "zorglub"}, []string{"eve1"}},
				{f.eve, Filter{Q: "zorglub"}, nil},
				{f.eve, Filter{Q: "imprimante"}, []string{"eve1"}},
				{f.jeanne, Filter{Q: "imprimante"}, nil},
				{f.jeanne, Filter{Q: f.keys["eve1"]}, nil},
				{f.jeanne, Filter{Q: f.keys["eve2"]}, []string{"eve2"}},
				{f.agent, Filter{Q: "' OR 1=1 --"}, nil},
			} {
				got := f.search(t, c.who, c.flt)
				if !slices.Equal(got, c.want) {
					t.Errorf("%s %+v: got %v, want %v", c.who.Email, c.flt, got, c.want)
				}
			}
			if name == "sqlite" {
				if got := f.search(t, f.jeanne, Filter{Q: "ecran"}); !slices.Equal(got, []string{"jeanne1"}) {
					t.Errorf("accents: %v", got)
				}
			}
			ctx := context.Background()
			for _, flt := range []Filter{{Scope: ScopeAssigned}, {Scope: "everything"}, {Status: []Status{"open"}}, {Cursor: "%%%"}} {
				who := f.jeanne
				if flt.Scope == "everything" {
					who = f.agent
				}
				if _, err := s.Search(ctx, who, flt); !errors.Is(err, ErrInvalid) {
					t.Errorf("%+v: %v, want ErrInvalid", flt, err)
				}
			}
			p, _ := s.Search(ctx, f.jeanne, Filter{Scope: ScopeMine})
			r := p.Items[0]
			if r.Key != f.keys["jeanne1"] || r.Type != "Incident" || r.Desk != "Assistance ENT" || r.StatusLabel != "En attente utilisateur" ||
				r.Creator != "Jeanne" || r.CreatorEmail != "jeanne@ecole.test" || p.From != 1 || p.To != 1 || p.Next != "" || p.Prev != "" {
				t.Errorf("row %+v page %+v", r, p)
			}
			types, err := s.RequestTypes(ctx)
			if err != nil || !slices.Equal(types, []string{"Demande", "Incident", "Maintenance"}) {
				t.Errorf("request types %v %v", types, err)
			}
		})
	}
}

func TestSearchPaging(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			s := newTestService(t, open(t), &now)
			u, _ := s.AddUser(ctx, NewUser{Email: "jeanne@ecole.test"})
			var all []string
			for i := range 23 {
				if i%5 != 0 { // some share an updated_at: the id breaks ties
					now = now.Add(time.Second)
				}
				tk, err := s.CreateTicket(ctx, u, TicketRequest{NewTicket: NewTicket{Summary: fmt.Sprint("Demande ", i), Description: "x"}})
				if err != nil {
					t.Fatal(err)
				}
				all = append([]string{tk.Key}, all...)
			}
			var got []string
			var pages []Page
			flt := Filter{Limit: 5}
			for {
				p, err := s.Search(ctx, u, flt)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, p)
				if p.Total != 23 || p.From != len(got)+1 || p.To != len(got)+len(p.Items) {
					t.Fatalf("page %d: %d-%d of %d", len(pages), p.From, p.To, p.Total)
				}
				for _, r := range p.Items {
					got = append(got, r.Key)
				}
				if (len(pages) > 1) != (p.Prev != "") {
					t.Fatalf("page %d: prev %q", len(pages), p.Prev)
				}
				if p.Next == "" {
					break
				}
				flt.Cursor = p.Next
			}
			if !slices.Equal(got, all) || len(pages) != 5 {
				t.Fatalf("forward: %d pages\n got %v\nwant %v", len(pages), got, all)
			}
			// Back from the last page, page by page, to the first.
			p := pages[len(pages)-1]
			for i := len(pages) - 2; i >= 0; i-- {
				var err error
				p, err = s.Search(ctx, u, Filter{Limit: 5, Cursor: p.Prev})
				if err != nil {
					t.Fatal(err)
				}
				want := pages[i]
				if fmt.Sprint(keysOf(p)) != fmt.Sprint(keysOf(want)) || p.From != want.From || p.To != want.To || (p.Prev == "") != (want.Prev == "") || p.Next == "" {
					t.Fatalf("back to page %d: %v %d-%d prev %q, want %v %d-%d", i+1, keysOf(p), p.From, p.To, p.Prev, keysOf(want), want.From, want.To)
				}
			}
		})
	}
}

func keysOf(p Page) []string {
	var ks []string
	for _, r := range p.Items {
		ks = append(ks, r.Key)
	}
	return ks
}

func TestDetailFor(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			s := newTestService(t, open(t), &now)
			f := setupList(t, s, &now)
			if _, err := s.DetailFor(ctx, f.jeanne, f.keys["eve1"]); !errors.Is(err, ErrNotFound) {
				t.Fatalf("other establishment: %v", err)
			}
			if _, err := s.DetailFor(ctx, f.jeanne, "AURAN1-999"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("missing: %v", err)
			}
			d, err := s.DetailFor(ctx, f.eve, f.keys["eve1"])
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Comments) != 0 || d.Assignee != "" {
				t.Fatalf("customer sees internal notes: %+v", d.Comments)
			}
			for _, e := range d.Events {
				if !slices.Contains(publicEvents, e.Kind) {
					t.Fatalf("customer sees event %+v", e)
				}
			}
			d, _ = s.DetailFor(ctx, f.agent, f.keys["eve1"])
			if len(d.Comments) != 1 || d.Comments[0].Visibility != Internal {
				t.Fatalf("agent: %+v", d.Comments)
			}
			if d, err := s.DetailFor(ctx, f.jeanne, f.keys["eve2"]); err != nil || d.Key != f.keys["eve2"] {
				t.Fatalf("participant: %v", err)
			}
			if d, _ := s.DetailFor(ctx, f.paul, f.keys["paul1"]); d.Assignee != "" {
				t.Fatal("assignee shown to a customer")
			}
		})
	}
}

func TestSearchCountCap(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	if _, err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	s, err := NewService(ctx, db, Options{PublicURL: "http://x", Secret: []byte("0123456789abcdef"), ListCountCap: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	agent, _ := s.AddUser(ctx, NewUser{Email: "a@support.test", Role: RoleAgent})
	for i := 0; i < 5; i++ {
		accept(t, s, testMail(fmt.Sprintf("u%d@ecole.test", i), "Demande", fmt.Sprintf("cap%d@x", i)))
	}
	p, err := s.Search(ctx, agent, Filter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 3 || !p.TotalCapped || p.From != 1 || p.To != 2 || len(p.Items) != 2 {
		t.Fatalf("capped page: total %d capped %v %d-%d", p.Total, p.TotalCapped, p.From, p.To)
	}
	p, _ = s.Search(ctx, agent, Filter{Limit: 10, Status: []Status{StatusNew}, Q: "Demande"})
	if p.Total != 5 || p.TotalCapped || len(p.Items) != 5 {
		t.Fatalf("a page that ends the list has the exact count: total %d capped %v items %d", p.Total, p.TotalCapped, len(p.Items))
	}
}
