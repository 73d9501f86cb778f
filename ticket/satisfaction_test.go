package ticket

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ratingLinkOf reads the rating link of the last status mail to addr, "" when it has none.
func ratingLinkOf(t *testing.T, f *rulesFixture, addr string) string {
	t.Helper()
	var rows []string
	if err := f.db.Select(&rows, f.db.Rebind("SELECT data FROM outbox WHERE kind = ? AND to_email = ? ORDER BY id DESC"), MailStatus, addr); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("no status mail to %s", addr)
	}
	var d MailData
	if err := json.Unmarshal([]byte(rows[0]), &d); err != nil {
		t.Fatal(err)
	}
	return d.RatingURL
}

func linkParts(t *testing.T, link string) (key, email, token string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(p) != 3 || p[0] != "requests" || p[2] != "satisfaction" {
		t.Fatalf("rating link %q", link)
	}
	return p[1], u.Query().Get("a"), u.Query().Get("t")
}

// TestSatisfaction: the closing mail carries a signed rating link for the requester only;
// the link records a rating (score and comment) that can be changed for 7 days and no
// longer; a ticket reopened and closed again is rated again; forged links and hostile
// answers are refused; agents see every rating and the report, the requester their own,
// other customers none.
func TestSatisfaction(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
			f := newRulesFixture(t, open(t), func(o *Options) { o.Now = func() time.Time { return now } })
			jeanne, err := f.s.UserByEmail(ctx, "jeanne@ecole.test")
			if err != nil {
				t.Fatal(err)
			}
			paul, err := f.s.UserByEmail(ctx, "paul@ecole.test")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.s.AddParticipant(ctx, f.agent, f.key, Address{Email: "paul@ecole.test"}); err != nil {
				t.Fatal(err)
			}
			// A status change other than a closing asks nothing.
			if err := f.s.ChangeStatus(ctx, f.agent, f.key, StatusInProgress); err != nil {
				t.Fatal(err)
			}
			if l := ratingLinkOf(t, f, "jeanne@ecole.test"); l != "" {
				t.Fatalf("a change to in progress carries a rating link: %s", l)
			}
			now = now.Add(time.Hour)
			if err := f.s.ChangeStatus(ctx, f.agent, f.key, StatusClosed); err != nil {
				t.Fatal(err)
			}
			if l := ratingLinkOf(t, f, "paul@ecole.test"); l != "" {
				t.Fatalf("a participant's closing mail carries a rating link: %s", l)
			}
			link := ratingLinkOf(t, f, "jeanne@ecole.test")
			key, email, token := linkParts(t, link)
			if key != f.key || email != "jeanne@ecole.test" || strings.Contains(link, "&n=") {
				t.Fatalf("rating link %q", link)
			}

			// The page shows the form and records nothing.
			form, err := f.s.RatingFor(ctx, key, email, token)
			if err != nil || form.Current != nil || form.Summary != "Wifi en panne" || !form.Link.Until.Equal(now.Add(RatingWindow)) {
				t.Fatalf("RatingFor: %+v %v", form, err)
			}
			r, err := f.s.Rate(ctx, key, email, token, 4, "  Merci,\r\nrapide.  ")
			if err != nil {
				t.Fatal(err)
			}
			if r.Score != 4 || r.Comment != "Merci,\nrapide." || r.AgentEmail != "alice@support.test" || r.Requester != "jeanne@ecole.test" || !r.ClosedAt.Equal(now.Truncate(time.Second)) {
				t.Fatalf("rating: %+v", r)
			}
			// Changed within the window: the same rating, first answer kept.
			now = now.Add(6 * 24 * time.Hour)
			r2, err := f.s.Rate(ctx, key, email, token, 2, "")
			if err != nil {
				t.Fatal(err)
			}
			if r2.ID != r.ID || r2.Score != 2 || r2.Comment != "" || !r2.RatedAt.Equal(r.RatedAt) || !r2.UpdatedAt.Equal(now) {
				t.Fatalf("changed rating: %+v (was %+v)", r2, r)
			}
			if form, err := f.s.RatingFor(ctx, key, email, token); err != nil || form.Current == nil || form.Current.Score != 2 {
				t.Fatalf("RatingFor after rating: %+v %v", form, err)
			}

			// Hostile answers.
			for _, tc := range []struct {
				score   int
				comment string
				field   string
			}{
				{0, "", "score"}, {6, "", "score"}, {-1, "", "score"},
				{3, strings.Repeat("é", RatingCommentMax), "comment"},
				{3, "nul\x00octet", "comment"},
				{3, "mauvais \xff utf-8", "comment"},
			} {
				_, err := f.s.Rate(ctx, key, email, token, tc.score, tc.comment)
				var re *RatingError
				if !errors.As(err, &re) || re.Field != tc.field || !errors.Is(err, ErrInvalid) {
					t.Errorf("Rate(%d, %.10q): %v, want a refusal of %s", tc.score, tc.comment, err, tc.field)
				}
			}
			// Forged and altered links: another ticket, another recipient, another agent
			// or closing, a made-up signature.
			tok, _ := ParseRatingToken(token)
			other := accept(t, f.s, testMail("paul@ecole.test", "Imprimante", "p1@ecole.test")).TicketKey
			for _, tc := range []struct{ name, key, email, token string }{
				{"other ticket", other, email, token},
				{"other recipient", key, "paul@ecole.test", token},
				{"other agent", key, email, RatingToken{tok.Closed, tok.Agent + 1, tok.MAC}.String()},
				{"other closing", key, email, RatingToken{tok.Closed + 86400, tok.Agent, tok.MAC}.String()},
				{"made-up signature", key, email, RatingToken{tok.Closed, tok.Agent, strings.Repeat("a", ratingMACLen)}.String()},
				{"signed, closing in the future", key, email, f.s.RatingToken(key, email, now.Add(time.Hour), tok.Agent)},
				{"signed, closing before the ticket", key, email, f.s.RatingToken(key, email, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), tok.Agent)},
				{"no token", key, email, ""},
				{"bad key", "../" + key, email, token},
			} {
				if _, err := f.s.Rate(ctx, tc.key, tc.email, tc.token, 5, "x"); !errors.Is(err, ErrNotFound) {
					t.Errorf("%s: Rate: %v, want ErrNotFound", tc.name, err)
				}
				if _, err := f.s.RatingFor(ctx, tc.key, tc.email, tc.token); !errors.Is(err, ErrNotFound) {
					t.Errorf("%s: RatingFor: %v, want ErrNotFound", tc.name, err)
				}
			}
			// A link signed for Paul on Jeanne's ticket (a genuine signature, the wrong
			// person): refused, since Paul is not its requester.
			forged := f.s.RatingToken(key, "paul@ecole.test", r.ClosedAt, tok.Agent)
			if _, err := f.s.Rate(ctx, key, "paul@ecole.test", forged, 1, ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("a participant rated with a link signed for him: %v", err)
			}

			// The ticket page: the requester sees her rating and the link, Paul nothing,
			// agents everything.
			mine, err := f.s.RatingsOf(ctx, jeanne, key)
			if err != nil || len(mine.Ratings) != 1 || mine.RateURL == "" || !mine.Rated || !mine.Until.Equal(r.ClosedAt.Add(RatingWindow)) {
				t.Fatalf("RatingsOf(jeanne): %+v %v", mine, err)
			}
			if _, _, tk := linkParts(t, mine.RateURL); tk != token {
				t.Errorf("the page's link %q is not the mail's %q", tk, token)
			}
			if theirs, err := f.s.RatingsOf(ctx, paul, key); err != nil || len(theirs.Ratings) != 0 || theirs.RateURL != "" {
				t.Fatalf("RatingsOf(paul): %+v %v", theirs, err)
			}

			// Past the window: refused, clearly.
			now = r.ClosedAt.Add(RatingWindow + time.Second)
			if _, err := f.s.Rate(ctx, key, email, token, 5, ""); !errors.Is(err, ErrRatingClosed) {
				t.Fatalf("Rate after 7 days: %v", err)
			}
			if _, err := f.s.RatingFor(ctx, key, email, token); !errors.Is(err, ErrRatingClosed) {
				t.Fatalf("RatingFor after 7 days: %v", err)
			}
			if mine, _ := f.s.RatingsOf(ctx, jeanne, key); mine.RateURL != "" || len(mine.Ratings) != 1 {
				t.Fatalf("RatingsOf after 7 days: %+v", mine)
			}

			// Reopened, assigned to Bob, closed again: a new rating, for Bob.
			bob, err := f.s.AddUser(ctx, NewUser{Email: "bob@support.test", Name: "Bob", Role: RoleAgent})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.s.ChangeStatus(ctx, f.agent, key, StatusInProgress); err != nil {
				t.Fatal(err)
			}
			if err := f.s.Assign(ctx, f.agent, key, bob.Email); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Minute)
			if err := f.s.ChangeStatus(ctx, f.agent, key, StatusClosed); err != nil {
				t.Fatal(err)
			}
			if mine, _ := f.s.RatingsOf(ctx, jeanne, key); mine.RateURL == "" || mine.Rated {
				t.Fatalf("RatingsOf after the second closing: %+v", mine)
			}
			link2 := ratingLinkOf(t, f, "jeanne@ecole.test")
			_, _, token2 := linkParts(t, link2)
			if token2 == token {
				t.Fatal("the second closing has the first's link")
			}
			r3, err := f.s.Rate(ctx, key, email, token2, 5, "Parfait")
			if err != nil || r3.ID == r.ID || r3.AgentEmail != "bob@support.test" {
				t.Fatalf("second rating: %+v %v", r3, err)
			}
			all, err := f.s.RatingsOf(ctx, f.agent, key)
			if err != nil || len(all.Ratings) != 2 || all.Ratings[0].Score != 5 || all.Ratings[1].Score != 2 || all.RateURL != "" {
				t.Fatalf("RatingsOf(agent): %+v %v", all, err)
			}

			// The report.
			if _, err := f.s.Satisfaction(ctx, jeanne, now.Add(-30*24*time.Hour), now.Add(time.Hour)); !errors.Is(err, ErrForbidden) {
				t.Fatalf("a customer read the report: %v", err)
			}
			rep, err := f.s.Satisfaction(ctx, f.agent, now.Add(-30*24*time.Hour), now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Desks) != 1 || rep.Desks[0].Count != 2 || rep.Desks[0].Average() != 3.5 || rep.Desks[0].Scores() != [5]int{1, 0, 0, 1, 0} {
				t.Fatalf("per desk: %+v", rep.Desks)
			}
			if len(rep.Agents) != 2 || rep.Agents[0].Count != 1 {
				t.Fatalf("per agent: %+v", rep.Agents)
			}
			byAgent := map[string]float64{}
			for _, g := range rep.Agents {
				byAgent[g.Key] = g.Average()
			}
			if byAgent["alice@support.test"] != 2 || byAgent["bob@support.test"] != 5 {
				t.Fatalf("per agent: %+v", rep.Agents)
			}
			if len(rep.Comments) != 1 || rep.Comments[0].Comment != "Parfait" || rep.Comments[0].TicketKey != key {
				t.Fatalf("comments: %+v", rep.Comments)
			}
			// A period before the ratings has none.
			if rep, err := f.s.Satisfaction(ctx, f.agent, now.Add(-60*24*time.Hour), now.Add(-30*24*time.Hour)); err != nil || len(rep.Desks)+len(rep.Agents)+len(rep.Comments) != 0 {
				t.Fatalf("empty period: %+v %v", rep, err)
			}
		})
	}
}

// TestParseRatingToken: the token's form, table-tested; the signature is VerifyRating's.
func TestParseRatingToken(t *testing.T) {
	mac := strings.Repeat("a2", ratingMACLen/2)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"1733570000.12." + mac, true},
		{"1733570000.0." + mac, true},
		{"1733570000." + mac, false},
		{"0.1." + mac, false},
		{"01733570000.1." + mac, false},
		{"+1733570000.1." + mac, false},
		{"-1.1." + mac, false},
		{"1733570000.-1." + mac, false},
		{"1733570000.01." + mac, false},
		{"1733570000.1." + strings.ToUpper(mac), false},
		{"1733570000.1." + mac[1:], false},
		{"1733570000.1." + mac + "a", false},
		{"1733570000.1." + mac[:22] + "18", false},
		{"1733570000.1.1." + mac, false},
		{"99999999999999999999.1." + mac, false},
		{"", false},
		{"..", false},
		{"1733570000.1." + mac[:23] + "\x00", false},
	} {
		got, err := ParseRatingToken(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRatingToken(%q): %+v, %v", tc.in, got, err)
			continue
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("ParseRatingToken(%q).String() = %q", tc.in, got.String())
		}
	}
}

// FuzzParseRatingToken: any string parses or fails without panicking; what parses is
// printed back as it was read, and a random token never verifies.
func FuzzParseRatingToken(f *testing.F) {
	f.Add("1733570000.12." + strings.Repeat("ab", 12))
	f.Add("1.0.aaaaaaaaaaaaaaaaaaaaaaaa")
	f.Add("..")
	f.Add("\x00.\x00.\x00")
	s := &Service{opt: Options{Secret: []byte("0123456789abcdef0123"), Now: time.Now}}
	f.Fuzz(func(t *testing.T, in string) {
		tok, err := ParseRatingToken(in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if tok.String() != in || tok.Closed <= 0 || tok.Agent < 0 || len(tok.MAC) != ratingMACLen {
			t.Fatalf("ParseRatingToken(%q) = %+v", in, tok)
		}
		if _, err := s.VerifyRating("AURAN1-1", "jeanne@ecole.test", in); err == nil {
			t.Fatalf("a fuzzed token verified: %q", in)
		}
	})
}

// TestSatisfactionClosedByMail: an agent who closes by mail (#fermer) with an answer sends
// one mail, the comment, and it asks the requester's rating; the next comment does not.
func TestSatisfactionClosedByMail(t *testing.T) {
	f := newRulesFixture(t, openSQLite(t), nil)
	accept(t, f.s, f.agentReply("a1@support.test", "#fermer\nLe wifi est rétabli."))
	var rows []struct {
		Kind string `db:"kind"`
		Data string `db:"data"`
	}
	if err := f.db.Select(&rows, f.db.Rebind("SELECT kind, data FROM outbox WHERE to_email = ? AND kind IN (?, ?) ORDER BY id"),
		"jeanne@ecole.test", MailComment, MailStatus); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Kind != string(MailComment) {
		t.Fatalf("mails to the requester: %+v", rows)
	}
	var d MailData
	if err := json.Unmarshal([]byte(rows[0].Data), &d); err != nil {
		t.Fatal(err)
	}
	key, email, token := linkParts(t, d.RatingURL)
	if _, err := f.s.Rate(context.Background(), key, email, token, 5, ""); err != nil {
		t.Fatalf("the comment mail's rating link: %v", err)
	}
	// An agent's note on the closed ticket mails the requester nothing; a public answer
	// that keeps it closed asks nothing.
	if _, err := f.s.AddComment(context.Background(), f.agent, f.key, CommentInput{Body: "Précision", Visibility: Public, KeepStatus: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Select(&rows, f.db.Rebind("SELECT kind, data FROM outbox WHERE to_email = ? AND kind = ? ORDER BY id DESC"),
		"jeanne@ecole.test", MailComment); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || strings.Contains(rows[0].Data, "rating_url") {
		t.Fatalf("a later comment asks for a rating again: %+v", rows)
	}
}

// nopFiles removes nothing: the tests of ratings store no file.
type nopFiles struct{}

func (nopFiles) RemoveBlob(context.Context, string) error { return nil }
func (nopFiles) RemoveSent(context.Context, string) error { return nil }

// TestSatisfactionPrivacy: a person's export lists the ratings they gave (and, for an
// agent, those about them); erasing the person blanks their comments and the retention
// policy those of the tickets it purges, the scores kept for the statistics; a duplicate
// closed by merging is not offered a rating.
func TestSatisfactionPrivacy(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
			f := newRulesFixture(t, open(t), func(o *Options) { o.Now = func() time.Time { return now } })
			rate := func(key, comment string) {
				t.Helper()
				if err := f.s.ChangeStatus(ctx, f.agent, key, StatusClosed); err != nil {
					t.Fatal(err)
				}
				jeanne, _ := f.s.UserByEmail(ctx, "jeanne@ecole.test")
				rs, err := f.s.RatingsOf(ctx, jeanne, key)
				if err != nil || rs.RateURL == "" {
					t.Fatalf("no rating link for %s: %v", key, err)
				}
				k, a, tok := linkParts(t, rs.RateURL)
				if _, err := f.s.Rate(ctx, k, a, tok, 4, comment); err != nil {
					t.Fatal(err)
				}
			}
			rate(f.key, "Merci Alice")
			second := accept(t, f.s, testMail("jeanne@ecole.test", "Imprimante", "w2@ecole.test")).TicketKey
			now = now.Add(time.Hour)
			rate(second, "Imprimante réparée")

			x, err := f.s.Export(ctx, "jeanne@ecole.test")
			if err != nil {
				t.Fatal(err)
			}
			if len(x.RatingsGiven) != 2 || x.RatingsGiven[0].Comment != "Merci Alice" || x.RatingsGiven[0].Agent != "alice@support.test" || len(x.RatingsAbout) != 0 {
				t.Fatalf("Jeanne's export: given %+v, about %+v", x.RatingsGiven, x.RatingsAbout)
			}
			if x, err := f.s.Export(ctx, "alice@support.test"); err != nil || len(x.RatingsAbout) != 2 || len(x.RatingsGiven) != 0 {
				t.Fatalf("Alice's export: %+v %v", x, err)
			}

			// Retention purges the first ticket: its rating's comment goes, its score stays.
			now = now.Add(40 * 24 * time.Hour)
			if _, err := f.s.Purge(ctx, now.Add(-40*24*time.Hour-30*time.Minute), false, nopFiles{}); err != nil {
				t.Fatal(err)
			}
			rep, err := f.s.Satisfaction(ctx, f.agent, now.Add(-60*24*time.Hour), now)
			if err != nil || len(rep.Desks) != 1 || rep.Desks[0].Count != 2 || rep.Desks[0].S4 != 2 {
				t.Fatalf("after retention: %+v %v", rep.Desks, err)
			}
			if len(rep.Comments) != 1 || rep.Comments[0].Comment != "Imprimante réparée" {
				t.Fatalf("comments after retention: %+v", rep.Comments)
			}
			// Erasing Jeanne blanks the other.
			if _, err := f.s.Erase(ctx, "jeanne@ecole.test", "test", nopFiles{}); err != nil {
				t.Fatal(err)
			}
			rep, err = f.s.Satisfaction(ctx, f.agent, now.Add(-60*24*time.Hour), now)
			if err != nil || rep.Desks[0].Count != 2 || len(rep.Comments) != 0 {
				t.Fatalf("after erasure: %+v %+v %v", rep.Desks, rep.Comments, err)
			}
		})
	}
}

// TestSatisfactionMerged: a duplicate closed by merging it into another ticket asks no
// rating (neither in the mail, a MailMerged, nor on its page); the target is rated when
// it closes.
func TestSatisfactionMerged(t *testing.T) {
	ctx := context.Background()
	f := newRulesFixture(t, openSQLite(t), nil)
	dup := accept(t, f.s, testMail("jeanne@ecole.test", "Wifi toujours en panne", "w3@ecole.test")).TicketKey
	if _, err := f.s.Merge(ctx, f.agent, dup, f.key); err != nil {
		t.Fatal(err)
	}
	jeanne, _ := f.s.UserByEmail(ctx, "jeanne@ecole.test")
	if rs, err := f.s.RatingsOf(ctx, jeanne, dup); err != nil || rs.RateURL != "" {
		t.Fatalf("the merged duplicate offers a rating: %+v %v", rs, err)
	}
	var n int
	if err := f.db.Get(&n, f.db.Rebind("SELECT COUNT(*) FROM outbox WHERE data LIKE ?"), "%rating_url%"); err != nil || n != 0 {
		t.Fatalf("%d mails ask for a rating after a merge (%v)", n, err)
	}
	if err := f.s.ChangeStatus(ctx, f.agent, f.key, StatusClosed); err != nil {
		t.Fatal(err)
	}
	if rs, err := f.s.RatingsOf(ctx, jeanne, f.key); err != nil || rs.RateURL == "" {
		t.Fatalf("the target offers no rating: %+v %v", rs, err)
	}
}
