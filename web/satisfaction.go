package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// ratingView is the data of the rating page (/requests/{KEY}/satisfaction): the
// satisfaction question of a closing mail, with a comment box.
type ratingView struct {
	Key, Email, Token, Summary string
	Score                      int // the answer checked, 0 for none
	Comment                    string
	Until                      time.Time      // the rating can be changed until then
	Current                    *ticket.Rating // the rating already given
	Done                       string         // the answer was just saved
	Errors                     map[string]string
	ErrorList                  []fieldError
}

// ratingScores orders the answers as the page and the mail show them.
var ratingScores = []int{5, 4, 3, 2, 1}

// ratingBodyMax bounds the rating form's body; the comment itself is bounded by the
// service (ticket.RatingCommentMax).
const ratingBodyMax = 64 << 10

// ratingForm answers a rating link of a closing mail (/requests/{KEY}/satisfaction
// ?a=…&t=…&n=…) with the question, the answer n preselected (or the one already given)
// and a comment box. Like the sign-in link, the GET records nothing: mail scanners open
// every link of a mail. No session is needed: the link is signed for the requester.
func (h *Handler) ratingForm(w http.ResponseWriter, r *http.Request) {
	r = h.optionalUser(r)
	q := r.URL.Query()
	v := &ratingView{Key: strings.ToUpper(r.PathValue("key")), Email: q.Get("a"), Token: q.Get("t")}
	f, err := h.opt.Portal.RatingFor(r.Context(), v.Key, v.Email, v.Token)
	if err != nil {
		h.ratingFailed(w, r, err)
		return
	}
	v.Summary, v.Until, v.Current = f.Summary, f.Link.Until, f.Current
	if f.Current != nil {
		v.Score, v.Comment = f.Current.Score, f.Current.Comment
	}
	if n, err := strconv.Atoi(q.Get("n")); err == nil && n >= 1 && n <= 5 {
		v.Score = n
	}
	h.showRating(w, r, http.StatusOK, h.ratingPage(w, r, f), v)
}

// rate records the answer of the rating page (or changes it, for 7 days after the
// closing).
func (h *Handler) rate(w http.ResponseWriter, r *http.Request) {
	r = h.optionalUser(r)
	r.Body = http.MaxBytesReader(w, r.Body, ratingBodyMax)
	if err := r.ParseForm(); err != nil {
		h.failErr(w, r, err)
		return
	}
	v := &ratingView{Key: strings.ToUpper(r.PathValue("key")), Email: r.PostFormValue("a"), Token: r.PostFormValue("t"),
		Comment: r.PostFormValue("comment")}
	v.Score, _ = strconv.Atoi(r.PostFormValue("score"))
	saved, err := h.opt.Portal.Rate(r.Context(), v.Key, v.Email, v.Token, v.Score, v.Comment)
	var re *ticket.RatingError
	if errors.As(err, &re) {
		f, ferr := h.opt.Portal.RatingFor(r.Context(), v.Key, v.Email, v.Token)
		if ferr != nil {
			h.ratingFailed(w, r, ferr)
			return
		}
		v.Summary, v.Until, v.Current = f.Summary, f.Link.Until, f.Current
		p := h.ratingPage(w, r, f)
		v.Errors = map[string]string{re.Field: h.pages.T(p.Lang, "rating.err_"+re.Reason)}
		if len(v.Comment) > ticket.RatingCommentMax*2 {
			v.Comment = "" // too large to send back
		}
		h.showRating(w, r, http.StatusUnprocessableEntity, p, v)
		return
	}
	if err != nil {
		h.ratingFailed(w, r, err)
		return
	}
	f, err := h.opt.Portal.RatingFor(r.Context(), v.Key, v.Email, v.Token)
	if err != nil {
		h.ratingFailed(w, r, err)
		return
	}
	v.Summary, v.Until, v.Current = f.Summary, f.Link.Until, &saved
	v.Score, v.Comment = saved.Score, saved.Comment
	p := h.ratingPage(w, r, f)
	v.Done = h.pages.T(p.Lang, "rating.saved")
	h.showRating(w, r, http.StatusOK, p, v)
}

// ratingPage starts the rating page: signed out, in the requester's language and time
// zone (those of the mail the link came in), else the signed-in user's.
func (h *Handler) ratingPage(w http.ResponseWriter, r *http.Request, f ticket.RatingForm) *templates.Page {
	p := h.page(w, r, "", nil)
	if p.User == nil && f.Lang != "" {
		p = templates.NewPage(f.Lang, f.TimeZone)
		p.Brand = h.brand(p.Lang)
	}
	return p
}

func (h *Handler) showRating(w http.ResponseWriter, r *http.Request, code int, p *templates.Page, v *ratingView) {
	for _, f := range [][3]string{{"score", "rating-score", "rating.question"}, {"comment", "rating-comment", "rating.comment"}} {
		if text, ok := v.Errors[f[0]]; ok {
			v.ErrorList = append(v.ErrorList, fieldError{ID: f[1], Label: f[2], Text: text})
		}
	}
	p.Data = v
	h.render(w, r, code, "satisfaction", p)
}

// ratingFailed answers a rating link that cannot be used: a clear page saying the link is
// not valid (forged, altered, or not the ticket's requester: 404) or that the time to
// rate is over (410).
func (h *Handler) ratingFailed(w http.ResponseWriter, r *http.Request, err error) {
	p := h.page(w, r, "", nil)
	switch {
	case errors.Is(err, ticket.ErrRatingClosed):
		p.Data = messageView{Title: h.pages.T(p.Lang, "rating.closed_title"), Text: h.pages.T(p.Lang, "rating.closed_text"),
			Link: "/", LinkText: h.pages.T(p.Lang, "nav.home")}
		h.render(w, r, http.StatusGone, "message", p)
	case errors.Is(err, ticket.ErrNotFound):
		p.Data = messageView{Title: h.pages.T(p.Lang, "rating.bad_title"), Text: h.pages.T(p.Lang, "rating.bad_text"),
			Link: "/", LinkText: h.pages.T(p.Lang, "nav.home")}
		h.render(w, r, http.StatusNotFound, "message", p)
	default:
		h.failErr(w, r, err)
	}
}

// reportView is the agents' satisfaction page (/agent/satisfaction).
type reportView struct {
	From, To string // the period's first and last days, YYYY-MM-DD
	Error    string // the period was refused
	Desks    []groupView
	Agents   []groupView
	Comments []ticket.Rating
	Scores   []int // the answers in the tables' order
}

// groupView is one row of the report: a desk or an agent.
type groupView struct {
	Name    string
	Count   int
	Average string
	Cells   []scoreCell // per answer, from very satisfied to very dissatisfied
}

type scoreCell struct {
	Score, Count, Percent int
}

// reportDays is the default period of the report: the last 30 days.
const reportDays = 30

// satisfaction shows the agents the ratings given in a period (?from=…&to=…, days in the
// agent's time zone, both included; the last 30 days by default): per desk and per agent,
// the count, the average and the distribution, and the latest comments.
func (h *Handler) satisfaction(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	p := h.page(w, r, "satisfaction", nil)
	loc, err := time.LoadLocation(u.TimeZone)
	if u.TimeZone == "" || err != nil {
		loc, _ = time.LoadLocation(ticket.DefaultTimeZone)
		if loc == nil {
			loc = time.UTC
		}
	}
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	from, to := today.AddDate(0, 0, -reportDays+1), today
	v := &reportView{Scores: ratingScores}
	code := http.StatusOK
	q := r.URL.Query()
	day := func(s string, def time.Time) (time.Time, bool) {
		if s = strings.TrimSpace(s); s == "" {
			return def, true
		}
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		return t, err == nil && t.Year() >= 2000 && t.Year() <= 9999
	}
	f, okf := day(q.Get("from"), from)
	t, okt := day(q.Get("to"), to)
	if !okf || !okt || t.Before(f) {
		v.Error = h.pages.T(p.Lang, "satisfaction.err_period")
		code = http.StatusUnprocessableEntity
	} else {
		from, to = f, t
	}
	v.From, v.To = from.Format("2006-01-02"), to.Format("2006-01-02")
	rep, err := h.opt.Portal.Satisfaction(r.Context(), u, from, to.AddDate(0, 0, 1))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	for _, g := range rep.Desks {
		v.Desks = append(v.Desks, h.groupView(p.Lang, g, g.Name))
	}
	for _, g := range rep.Agents {
		name := g.Name
		if name == "" {
			name = g.Key
		}
		if name == "" {
			name = h.pages.T(p.Lang, "satisfaction.no_agent")
		}
		v.Agents = append(v.Agents, h.groupView(p.Lang, g, name))
	}
	v.Comments = rep.Comments
	p.Data = v
	h.render(w, r, code, "satisfaction_report", p)
}

func (h *Handler) groupView(lang string, g ticket.RatingGroup, name string) groupView {
	gv := groupView{Name: name, Count: g.Count, Average: fmt.Sprintf("%.1f", g.Average())}
	if lang != "en" {
		gv.Average = strings.Replace(gv.Average, ".", ",", 1)
	}
	for i, n := range g.Scores() {
		c := scoreCell{Score: ratingScores[i], Count: n}
		if g.Count > 0 {
			c.Percent = (n*100 + g.Count/2) / g.Count
		}
		gv.Cells = append(gv.Cells, c)
	}
	return gv
}
