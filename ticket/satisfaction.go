package ticket

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// Satisfaction
//
// The mail that tells a requester their ticket is closed carries a one-question rating:
// five links, one per answer, to the rating page (/requests/KEY/satisfaction). Each link
// is signed for the ticket, the requester's address, the closing and the agent the
// rating is for, so that it needs no session; the page only shows the form (mail
// scanners open every link), and only its POST records the answer (Rate). The answer can
// be changed for RatingWindow after the closing; a ticket reopened and closed again is
// rated again, one rating per closing.

// RatingWindow is how long after a closing its rating can be given or changed.
const RatingWindow = 7 * 24 * time.Hour

// RatingCommentMax bounds a rating's comment, in bytes.
const RatingCommentMax = 4000

// ratingMACLen is the length of a rating link's signature: 24 base32 characters, 120 bits.
const ratingMACLen = 24

// ErrRatingClosed: the rating link is genuine but its closing is more than RatingWindow
// ago; the rating can no longer be given or changed.
var ErrRatingClosed = errors.New("ticket: the rating period is over")

// Rating is a requester's answer to the satisfaction question about one closing.
type Rating struct {
	ID         int64     `db:"id"`
	TicketKey  string    `db:"ticket_key"`
	Requester  string    `db:"requester"`   // the requester's address
	AgentName  string    `db:"agent_name"`  // the agent the rating is for, "" for none
	AgentEmail string    `db:"agent_email"` //
	ClosedAt   time.Time `db:"closed_at"`   // the closing rated
	Score      int       `db:"score"`       // 1 (very dissatisfied) to 5 (very satisfied)
	Comment    string    `db:"comment"`
	RatedAt    time.Time `db:"rated_at"`   // first answer
	UpdatedAt  time.Time `db:"updated_at"` // last change
}

// RatingToken is what a rating link's token holds: the closing (in Unix seconds), the
// agent the rating is for (0: none) and the signature over them, the ticket's key and the
// requester's address.
type RatingToken struct {
	Closed int64
	Agent  int64
	MAC    string
}

// String is the token as links carry it: CLOSED.AGENT.MAC.
func (t RatingToken) String() string {
	return strconv.FormatInt(t.Closed, 10) + "." + strconv.FormatInt(t.Agent, 10) + "." + t.MAC
}

// ParseRatingToken reads a rating link's token (CLOSED.AGENT.MAC: two decimal numbers
// without sign or leading zero, then the signature in lower-case base32). It checks the
// form only; VerifyRating checks the signature.
func ParseRatingToken(s string) (RatingToken, error) {
	bad := fmt.Errorf("%w: rating token", ErrInvalid)
	if len(s) > 64 {
		return RatingToken{}, bad
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return RatingToken{}, bad
	}
	num := func(p string) (int64, bool) {
		if p == "" || len(p) > 18 || (len(p) > 1 && p[0] == '0') {
			return 0, false
		}
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(p, 10, 64)
		return n, err == nil
	}
	closed, ok1 := num(parts[0])
	agent, ok2 := num(parts[1])
	if !ok1 || !ok2 || closed == 0 || len(parts[2]) != ratingMACLen {
		return RatingToken{}, bad
	}
	for _, c := range []byte(parts[2]) {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return RatingToken{}, bad
		}
	}
	return RatingToken{Closed: closed, Agent: agent, MAC: parts[2]}, nil
}

// ratingMAC signs a rating link: the ticket's key, the requester's address, the closing
// and the agent, with a key of its own derived from the service's secret.
func (s *Service) ratingMAC(key, email string, closed, agent int64) string {
	m := hmac.New(sha256.New, s.Key("satisfaction"))
	for _, part := range []string{strings.ToUpper(strings.TrimSpace(key)), NormalizeEmail(email),
		strconv.FormatInt(closed, 10), strconv.FormatInt(agent, 10)} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return strings.ToLower(b32.EncodeToString(m.Sum(nil))[:ratingMACLen])
}

// RatingToken signs the rating of ticket key's closing at closed by email, for agent
// (0: none).
func (s *Service) RatingToken(key, email string, closed time.Time, agent int64) string {
	c := closed.Unix()
	return RatingToken{Closed: c, Agent: agent, MAC: s.ratingMAC(key, email, c, agent)}.String()
}

// RatingURL is the rating page of ticket key's closing for email; score (1..5) preselects
// an answer, 0 none.
func (s *Service) RatingURL(key, email string, closed time.Time, agent int64, score int) string {
	u := s.opt.PublicURL + "/requests/" + strings.ToUpper(key) + "/satisfaction?a=" + url.QueryEscape(NormalizeEmail(email)) +
		"&t=" + s.RatingToken(key, email, closed, agent)
	if score >= 1 && score <= 5 {
		u += "&n=" + strconv.Itoa(score)
	}
	return u
}

// RatingLink is a verified rating link: whose rating of which closing.
type RatingLink struct {
	Key      string
	Email    string
	ClosedAt time.Time
	Agent    int64
	Until    time.Time // the rating can be given or changed until then
}

// VerifyRating checks a rating link without changing anything: ErrNotFound when its
// signature does not match the ticket and address (a forged or altered link),
// ErrRatingClosed when it is genuine but RatingWindow has passed since the closing.
func (s *Service) VerifyRating(key, email, token string) (RatingLink, error) {
	key = strings.ToUpper(strings.TrimSpace(key))
	email = NormalizeEmail(email)
	tok, err := ParseRatingToken(token)
	if err != nil || email == "" || !ticketKeyRe.MatchString(key) ||
		!hmac.Equal([]byte(tok.MAC), []byte(s.ratingMAC(key, email, tok.Closed, tok.Agent))) {
		return RatingLink{}, fmt.Errorf("%w: rating link of %s", ErrNotFound, key)
	}
	l := RatingLink{Key: key, Email: email, ClosedAt: time.Unix(tok.Closed, 0).UTC(), Agent: tok.Agent}
	l.Until = l.ClosedAt.Add(RatingWindow)
	now := s.now()
	if l.ClosedAt.After(now.Add(time.Minute)) {
		return RatingLink{}, fmt.Errorf("%w: rating link of %s: closed in the future", ErrNotFound, key)
	}
	if now.After(l.Until) {
		return l, fmt.Errorf("%w (%s, closed %s)", ErrRatingClosed, key, l.ClosedAt.Format(time.RFC3339))
	}
	return l, nil
}

// RatingForm is what the rating page shows: the link's closing, the ticket's summary and
// the rating already given, if any.
type RatingForm struct {
	Link    RatingLink
	Summary string
	Current *Rating
	// The requester's language and time zone, those of the mail the link came in.
	Lang, TimeZone string
}

// RatingFor reads, for the rating page, the ticket and the rating already given through
// a rating link (VerifyRating's errors; ErrNotFound also when the ticket or its requester
// no longer match). It changes nothing.
func (s *Service) RatingFor(ctx context.Context, key, email, token string) (RatingForm, error) {
	l, err := s.VerifyRating(key, email, token)
	if err != nil {
		return RatingForm{Link: l}, err
	}
	t, u, err := s.ratingTicket(ctx, s.db, l)
	if err != nil {
		return RatingForm{Link: l}, err
	}
	f := RatingForm{Link: l, Summary: t.Summary, Lang: u.Lang, TimeZone: u.TimeZone}
	r, err := s.rating(ctx, s.db, t.ID, u.ID, l.ClosedAt)
	if err == nil {
		f.Current = &r
	} else if !errors.Is(err, ErrNotFound) {
		return f, err
	}
	return f, nil
}

// ratingTicket finds the ticket and requester of a verified link: the address must still
// be the ticket's requester.
func (s *Service) ratingTicket(ctx context.Context, q sqlx.QueryerContext, l RatingLink) (*Ticket, User, error) {
	t, err := s.ticketByKey(ctx, q, l.Key)
	if err != nil {
		return nil, User{}, err
	}
	u, err := s.userByEmail(ctx, q, l.Email)
	if err != nil {
		return nil, User{}, fmt.Errorf("%w: rating of %s: %v", ErrNotFound, l.Key, err)
	}
	if u.ID != t.RequesterID {
		return nil, User{}, fmt.Errorf("%w: rating of %s: not its requester", ErrNotFound, l.Key)
	}
	if l.ClosedAt.Before(t.CreatedAt.Truncate(time.Second)) {
		return nil, User{}, fmt.Errorf("%w: rating of %s: closed before it was made", ErrNotFound, l.Key)
	}
	return t, u, nil
}

func (s *Service) rating(ctx context.Context, q sqlx.QueryerContext, ticketID, requesterID int64, closed time.Time) (Rating, error) {
	var r Rating
	err := sqlx.GetContext(ctx, q, &r, s.fq.Get, ticketID, requesterID, closed)
	if errors.Is(err, sql.ErrNoRows) {
		return Rating{}, fmt.Errorf("%w: rating", ErrNotFound)
	}
	if err != nil {
		return Rating{}, fmt.Errorf("ticket: read rating: %w", err)
	}
	r.fixTimes()
	return r, nil
}

func (r *Rating) fixTimes() {
	r.ClosedAt, r.RatedAt, r.UpdatedAt = r.ClosedAt.UTC(), r.RatedAt.UTC(), r.UpdatedAt.UTC()
}

// RatingError names what Rate refused in an answer; it matches ErrInvalid.
type RatingError struct {
	Field  string // score or comment
	Reason string // a text key of the portal: rating.err_<reason>
}

func (e *RatingError) Error() string { return "ticket: rating: " + e.Field + ": " + e.Reason }

// Is makes a RatingError match ErrInvalid.
func (e *RatingError) Is(target error) bool { return target == ErrInvalid }

// Rate records (or changes) the answer given through a rating link: score 1 to 5 and an
// optional comment. VerifyRating's errors apply; a refused answer gives a *RatingError.
func (s *Service) Rate(ctx context.Context, key, email, token string, score int, comment string) (Rating, error) {
	l, err := s.VerifyRating(key, email, token)
	if err != nil {
		return Rating{}, err
	}
	comment = strings.TrimSpace(strings.ReplaceAll(comment, "\r\n", "\n"))
	switch {
	case score < 1 || score > 5:
		return Rating{}, &RatingError{"score", "score"}
	case len(comment) > RatingCommentMax:
		return Rating{}, &RatingError{"comment", "too_long"}
	case strings.ContainsRune(comment, 0) || !utf8.ValidString(comment):
		return Rating{}, &RatingError{"comment", "text"}
	}
	var out Rating
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, u, err := s.ratingTicket(ctx, tx, l)
		if err != nil {
			return err
		}
		var agent any
		if l.Agent != 0 {
			agent = l.Agent
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, s.fq.Upsert, t.ID, u.ID, agent, l.ClosedAt, score, comment, now, now); err != nil {
			return fmt.Errorf("ticket: record rating of %s: %w", t.Key, err)
		}
		if out, err = s.rating(ctx, tx, t.ID, u.ID, l.ClosedAt); err != nil {
			return err
		}
		return s.event(ctx, tx, t.ID, u.ID, "rating", strconv.Itoa(score))
	})
	return out, err
}

// closingAgent is the agent a rating of t's last closing is for: its assignee, else the
// agent who closed it; 0 when neither.
func (s *Service) closingAgent(ctx context.Context, q sqlx.QueryerContext, t *Ticket) (int64, error) {
	if t.AssigneeID != nil {
		return *t.AssigneeID, nil
	}
	var actor sql.NullInt64
	err := sqlx.GetContext(ctx, q, &actor, s.fq.ClosingActor, t.ID, "% → "+string(StatusClosed))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !actor.Valid) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ticket: read who closed %s: %w", t.Key, err)
	}
	u, err := s.userByID(ctx, q, actor.Int64)
	if err != nil {
		return 0, err
	}
	if !u.Role.IsStaff() {
		return 0, nil
	}
	return u.ID, nil
}

// ratingURLFor is the rating link for u of t's current closing, "" when u is not its
// requester, t is not closed or the window has passed.
func (s *Service) ratingURLFor(ctx context.Context, q sqlx.QueryerContext, t *Ticket, u User) (string, error) {
	if t.Status != StatusClosed || t.ClosedAt == nil || u.ID != t.RequesterID || u.Role.IsStaff() ||
		s.now().After(t.ClosedAt.Add(RatingWindow)) {
		return "", nil
	}
	// A duplicate closed by merging it into another ticket is not rated: the other is.
	if into, err := s.mergedInto(ctx, q, t.ID); err != nil || into != nil {
		return "", err
	}
	agent, err := s.closingAgent(ctx, q, t)
	if err != nil {
		return "", err
	}
	return s.RatingURL(t.Key, u.Email, *t.ClosedAt, agent, 0), nil
}

// TicketRatings is what the ticket page shows of satisfaction: for agents every rating
// of the ticket, for its requester their own and, while the closing can be rated, the
// link to rate it; nothing for anyone else.
type TicketRatings struct {
	Ratings []Rating
	RateURL string // the rating page of the current closing, for its requester
	Until   time.Time
	Rated   bool // the requester already rated the current closing (RateURL changes it)
}

// RatingsOf gives what u may see of ticket key's ratings (the access rules of the ticket
// apply).
func (s *Service) RatingsOf(ctx context.Context, u User, key string) (TicketRatings, error) {
	t, err := s.visibleTicket(ctx, s.db, strings.ToUpper(strings.TrimSpace(key)), u)
	if err != nil {
		return TicketRatings{}, err
	}
	var out TicketRatings
	only := int64(0)
	if !u.Role.IsStaff() {
		if u.ID != t.RequesterID {
			return out, nil // customers never see other people's ratings
		}
		only = u.ID
	}
	if err := s.db.SelectContext(ctx, &out.Ratings, s.fq.OfTicket, t.ID, only, only); err != nil {
		return TicketRatings{}, fmt.Errorf("ticket: read ratings of %s: %w", t.Key, err)
	}
	for i := range out.Ratings {
		out.Ratings[i].fixTimes()
	}
	if out.RateURL, err = s.ratingURLFor(ctx, s.db, t, u); err != nil {
		return TicketRatings{}, err
	}
	if out.RateURL != "" {
		out.Until = t.ClosedAt.Add(RatingWindow).UTC()
		closed := t.ClosedAt.Truncate(time.Second)
		for _, r := range out.Ratings {
			out.Rated = out.Rated || r.ClosedAt.Equal(closed)
		}
	}
	return out, nil
}

// RatingGroup counts the ratings of a desk or an agent.
type RatingGroup struct {
	Key   string `db:"group_key"`  // desk key, or agent address ("" for none)
	Name  string `db:"group_name"` // desk or agent name
	Count int    `db:"n"`
	Total int64  `db:"total"` // sum of the scores
	S1    int    `db:"s1"`
	S2    int    `db:"s2"`
	S3    int    `db:"s3"`
	S4    int    `db:"s4"`
	S5    int    `db:"s5"`
}

// Average is the mean score, 0 without ratings.
func (g RatingGroup) Average() float64 {
	if g.Count == 0 {
		return 0
	}
	return float64(g.Total) / float64(g.Count)
}

// Scores is the number of ratings of each score, from 5 (very satisfied) down to 1.
func (g RatingGroup) Scores() [5]int { return [5]int{g.S5, g.S4, g.S3, g.S2, g.S1} }

// SatisfactionReport is the agents' view of the ratings given in a period.
type SatisfactionReport struct {
	From, To time.Time // ratings first given in [From, To)
	Desks    []RatingGroup
	Agents   []RatingGroup
	Comments []Rating // the latest ratings with a comment
}

// satisfactionComments is how many comments a report lists.
const satisfactionComments = 20

// Satisfaction reports the ratings first given in [from, to), per desk and per agent,
// with the latest comments (agents only).
func (s *Service) Satisfaction(ctx context.Context, actor User, from, to time.Time) (SatisfactionReport, error) {
	if !actor.Role.IsStaff() {
		return SatisfactionReport{}, fmt.Errorf("%w: satisfaction results are for agents", ErrForbidden)
	}
	if !to.After(from) {
		return SatisfactionReport{}, fmt.Errorf("%w: satisfaction period ends before it starts", ErrInvalid)
	}
	rep := SatisfactionReport{From: from.UTC(), To: to.UTC(), Desks: []RatingGroup{}, Agents: []RatingGroup{}, Comments: []Rating{}}
	if err := s.db.SelectContext(ctx, &rep.Desks, s.fq.ByDesk, rep.From, rep.To); err != nil {
		return SatisfactionReport{}, fmt.Errorf("ticket: satisfaction per desk: %w", err)
	}
	if err := s.db.SelectContext(ctx, &rep.Agents, s.fq.ByAgent, rep.From, rep.To); err != nil {
		return SatisfactionReport{}, fmt.Errorf("ticket: satisfaction per agent: %w", err)
	}
	if err := s.db.SelectContext(ctx, &rep.Comments, s.fq.Comments, rep.From, rep.To, satisfactionComments); err != nil {
		return SatisfactionReport{}, fmt.Errorf("ticket: satisfaction comments: %w", err)
	}
	for i := range rep.Comments {
		rep.Comments[i].fixTimes()
	}
	return rep, nil
}

// ExportRating is a rating in a person's export: one they gave as a requester, or, for an
// agent, one given about their work.
type ExportRating struct {
	Ticket    string    `db:"ticket_key" json:"ticket"`
	Requester string    `db:"requester" json:"requester"`
	Agent     string    `db:"agent_email" json:"agent,omitempty"`
	ClosedAt  time.Time `db:"closed_at" json:"closed_at"`
	Score     int       `db:"score" json:"score"`
	Comment   string    `db:"comment" json:"comment"`
	RatedAt   time.Time `db:"rated_at" json:"rated_at"`
	UpdatedAt time.Time `db:"updated_at" json:"updated_at"`
}

// exportRatings lists the ratings person userID gave and those given about them.
func (s *Service) exportRatings(ctx context.Context, q sqlx.QueryerContext, userID int64) (given, about []ExportRating, err error) {
	given, about = []ExportRating{}, []ExportRating{}
	if err := sqlx.SelectContext(ctx, q, &given, s.fq.PersonGiven, userID); err != nil {
		return nil, nil, fmt.Errorf("ticket: ratings given by user %d: %w", userID, err)
	}
	if err := sqlx.SelectContext(ctx, q, &about, s.fq.PersonAbout, userID); err != nil {
		return nil, nil, fmt.Errorf("ticket: ratings about user %d: %w", userID, err)
	}
	return given, about, nil
}

// blankRatingComments empties the comments of the ratings of a ticket (retention) or
// given by a person (erasure); the scores stay, for the statistics.
func (s *Service) blankRatingComments(ctx context.Context, tx *sqlx.Tx, query string, id int64) (int64, error) {
	n, err := execCount(ctx, tx, query, id)
	if err != nil {
		return 0, fmt.Errorf("ticket: blank rating comments: %w", err)
	}
	return n, nil
}

type satisfactionQueries struct {
	Get          string `query:"rating-get"`
	Upsert       string `query:"rating-upsert"`
	OfTicket     string `query:"ratings-of-ticket"`
	ClosingActor string `query:"rating-closing-actor"`
	ByDesk       string `query:"satisfaction-by-desk"`
	ByAgent      string `query:"satisfaction-by-agent"`
	Comments     string `query:"satisfaction-comments"`
	PersonGiven  string `query:"ratings-given-by"`
	PersonAbout  string `query:"ratings-about"`
	BlankTicket  string `query:"rating-comments-blank-ticket"`
	BlankPerson  string `query:"rating-comments-blank-person"`
	Totals       string `query:"satisfaction-totals"`
}
