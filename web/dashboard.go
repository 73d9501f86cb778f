package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// dashboardView is the agents' dashboard: the figures, and the weekly chart as SVG
// geometry computed here (no JavaScript), with the same figures in a table.
type dashboardView struct {
	D        ticket.Dashboard
	Weeks    int
	Choices  []int
	Statuses []statusCount
	Chart    chartView
	// Medians as text ("2 h 30 min"), "—" when there is none.
	MedianFirst, MedianResolve string
	// The satisfaction ratings of the weeks shown: average out of 5 ("4,2"), "—" for none.
	Satisfaction groupView
}

type statusCount struct {
	Status ticket.Status
	N      int
	Width  float64 // of the bar, percent of the largest
}

// chartView is a grouped bar chart of created and closed tickets per week.
type chartView struct {
	Width, Height, Base float64
	LabelY              float64 // baseline of the week labels
	Bars                []chartBar
	Ticks               []chartTick
	Labels              []chartLabel
}

type chartBar struct {
	X, Y, W, H float64
	Closed     bool
	Title      string
}

type chartTick struct {
	Y     float64
	Value int
}

type chartLabel struct {
	X    float64
	Text string
}

var dashboardWeeks = []int{4, 12, 26, 52}

func (h *Handler) dashboardData(r *http.Request) (ticket.Dashboard, int, error) {
	u, _ := currentUser(r)
	weeks := 12
	if n, err := strconv.Atoi(r.URL.Query().Get("weeks")); err == nil && n >= 1 && n <= 104 {
		weeks = n
	}
	d, err := h.opt.Portal.Dashboard(r.Context(), u, weeks, templates.Location(u.TimeZone))
	return d, weeks, err
}

// dashboard shows the desk's figures to agents (§ issue 15: statuses, created and closed
// per week, median business times, SLA breaches).
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	d, weeks, err := h.dashboardData(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	v := &dashboardView{D: d, Weeks: weeks, Choices: dashboardWeeks, MedianFirst: "—", MedianResolve: "—"}
	v.Satisfaction = h.groupView(u.Lang, d.Ratings, "")
	if d.Ratings.Count == 0 {
		v.Satisfaction.Average = "—"
	}
	if d.Responded > 0 {
		v.MedianFirst = templates.FormatBusinessDuration(d.MedianFirstResponse)
	}
	if d.Resolved > 0 {
		v.MedianResolve = templates.FormatBusinessDuration(d.MedianResolve)
	}
	most := 1
	for _, st := range ticket.Statuses {
		most = max(most, d.ByStatus[st])
	}
	for _, st := range ticket.Statuses {
		v.Statuses = append(v.Statuses, statusCount{Status: st, N: d.ByStatus[st], Width: 100 * float64(d.ByStatus[st]) / float64(most)})
	}
	v.Chart = weekChart(d.Weeks, func(w ticket.DashboardWeek) string { return h.weekLabel(u.Lang, u.TimeZone, w.Start) },
		func(key string, args ...any) string { return fmt.Sprintf(h.pages.T(u.Lang, key), args...) })
	h.render(w, r, http.StatusOK, "dashboard", h.page(w, r, "dashboard", v))
}

func (h *Handler) weekLabel(lang, zone string, t time.Time) string {
	t = t.In(templates.Location(zone))
	if lang == "en" {
		return t.Format("Jan 2")
	}
	return t.Format("02/01")
}

// weekChart lays out two bars per week (created, closed) in a 640×240 box.
func weekChart(weeks []ticket.DashboardWeek, label func(ticket.DashboardWeek) string, tf func(string, ...any) string) chartView {
	c := chartView{Width: 640, Height: 240, Base: 200, LabelY: 218}
	most := 1
	for _, w := range weeks {
		most = max(most, w.Created, w.Closed)
	}
	top := niceCeil(most)
	const left, right, plotTop = 48.0, 8.0, 16.0
	plotH := c.Base - plotTop
	slot := (c.Width - left - right) / float64(max(len(weeks), 1))
	barW := slot * 0.38
	for i, w := range weeks {
		x := left + float64(i)*slot + slot*0.1
		for j, n := range []int{w.Created, w.Closed} {
			hgt := plotH * float64(n) / float64(top)
			key := "dash.bar_created"
			if j == 1 {
				key = "dash.bar_closed"
			}
			c.Bars = append(c.Bars, chartBar{X: x + float64(j)*barW, Y: c.Base - hgt, W: barW, H: hgt, Closed: j == 1,
				Title: tf(key, label(w), n)})
		}
		if len(weeks) <= 16 || i%((len(weeks)+15)/16) == 0 {
			c.Labels = append(c.Labels, chartLabel{X: x + barW, Text: label(w)})
		}
	}
	for k := 0; k <= 4; k++ {
		v := top * k / 4
		c.Ticks = append(c.Ticks, chartTick{Y: c.Base - plotH*float64(v)/float64(top), Value: v})
	}
	return c
}

// niceCeil is the top of an axis of four equal steps holding n: four times a step of
// 1, 2 or 5 times a power of ten (4, 8, 20, 40, 80, 200, …).
func niceCeil(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if v := 4 * m * p; v >= n {
				return v
			}
		}
	}
}

// dashboardCSV exports the weekly figures, one row a week (the week's Monday, 00:00 in the
// agent's zone, as RFC 3339).
func (h *Handler) dashboardCSV(w http.ResponseWriter, r *http.Request) {
	u, _ := currentUser(r)
	d, weeks, err := h.dashboardData(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="guichet-dashboard-%dw.csv"`, weeks))
	cw := csv.NewWriter(w)
	cw.Write([]string{"week_start", "created", "closed", "breaches_first_response", "breaches_resolution"})
	for _, wk := range d.Weeks {
		cw.Write([]string{wk.Start.In(templates.Location(u.TimeZone)).Format(time.RFC3339), strconv.Itoa(wk.Created), strconv.Itoa(wk.Closed),
			strconv.Itoa(wk.BreachesFirstResponse), strconv.Itoa(wk.BreachesResolve)})
	}
	cw.Flush()
}
