// Package bizhours counts time in a desk's business hours: opening spans per weekday in
// the desk's time zone, public holidays (France's computed by default, Easter-based ones
// included) and closed dates. SLA clocks are measured with it: Between says how much
// business time lies between two instants, Add finds the instant a business duration ends.
//
// Days are walked in the calendar's civil time, so daylight-saving changes move the
// opening hours with the clock, as people expect ("08:00" is 08:00 on both sides of the
// change).
package bizhours

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the desk's zone even where the system has no tzdata
)

// Span is an opening span within a day, in minutes after midnight: [Start, End).
type Span struct{ Start, End int }

// Date is a civil date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

func dateOf(t time.Time) Date { y, m, d := t.Date(); return Date{y, m, d} }

// Calendar is a desk's business hours. The zero value is not usable; build one with Parse
// or Default. A Calendar is immutable and safe for concurrent use.
type Calendar struct {
	loc      *time.Location
	week     [7][]Span // indexed by time.Weekday
	holidays string    // "fr", "fr-alsace" or "" (none)
	closed   map[Date]bool
	spec     string
}

// maxDays bounds the walk of Add on a calendar that is almost never open.
const maxDays = 366 * 20

// Default is the user guide's phone hours: Monday to Friday, 08:00–18:00, Europe/Paris,
// French public holidays closed.
const Default = "Europe/Paris mon-fri 08:00-18:00 holidays=fr"

// MustDefault returns the parsed Default calendar.
func MustDefault() *Calendar {
	c, err := Parse(Default)
	if err != nil {
		panic(err)
	}
	return c
}

// Parse reads a calendar written as space-separated fields:
//
//	Europe/Paris mon-fri 08:00-12:00,13:30-18:00 sat 09:00-12:00 holidays=fr closed=2026-12-24,2026-12-31
//
// The zone comes first (an IANA name). Each day field (mon, tue, …, sun, or a range such
// as mon-fri) is followed by its spans; a day named twice adds spans. holidays= is fr
// (France's eleven public holidays), fr-alsace (plus Good Friday and 26 December) or none;
// closed= lists extra closed dates. "24x7" alone opens every hour of every day.
func Parse(spec string) (*Calendar, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return nil, errors.New("business hours: empty; e.g. " + Default)
	}
	loc, err := time.LoadLocation(fields[0])
	if err != nil || fields[0] == "Local" {
		return nil, fmt.Errorf("business hours: %q is not a time zone such as Europe/Paris", fields[0])
	}
	c := &Calendar{loc: loc, closed: map[Date]bool{}, spec: strings.Join(fields, " ")}
	var days []time.Weekday
	for _, f := range fields[1:] {
		lf := strings.ToLower(f)
		switch {
		case lf == "24x7":
			for d := range c.week {
				c.week[d] = []Span{{0, 24 * 60}}
			}
			days = nil
		case strings.HasPrefix(lf, "holidays="):
			h := strings.TrimPrefix(lf, "holidays=")
			switch h {
			case "fr", "fr-alsace":
				c.holidays = h
			case "none", "":
				c.holidays = ""
			default:
				return nil, fmt.Errorf("business hours: holidays=%s: fr, fr-alsace or none expected", h)
			}
		case strings.HasPrefix(lf, "closed="):
			for _, s := range strings.Split(strings.TrimPrefix(lf, "closed="), ",") {
				if s == "" {
					continue
				}
				t, err := time.Parse("2006-01-02", s)
				if err != nil {
					return nil, fmt.Errorf("business hours: closed date %q: YYYY-MM-DD expected", s)
				}
				c.closed[dateOf(t)] = true
			}
		case isDays(lf):
			days, _ = parseDays(lf)
		default:
			spans, err := parseSpans(lf)
			if err != nil {
				return nil, err
			}
			if days == nil {
				return nil, fmt.Errorf("business hours: %q comes before any day (mon-fri 08:00-18:00)", f)
			}
			for _, d := range days {
				c.week[d] = normalise(append(c.week[d], spans...))
			}
		}
	}
	open := false
	for _, s := range c.week {
		open = open || len(s) > 0
	}
	if !open {
		return nil, errors.New("business hours: no opening hours; e.g. " + Default)
	}
	return c, nil
}

// String gives the specification the calendar was parsed from.
func (c *Calendar) String() string { return c.spec }

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	// French, as the desk's staff write them.
	"dim": time.Sunday, "lun": time.Monday, "mar": time.Tuesday, "mer": time.Wednesday,
	"jeu": time.Thursday, "ven": time.Friday, "sam": time.Saturday,
}

func isDays(s string) bool { _, ok := parseDays(s); return ok }

// parseDays reads "mon", "mon-fri" or "sat-mon" (wrapping).
func parseDays(s string) ([]time.Weekday, bool) {
	a, b, isRange := strings.Cut(s, "-")
	from, ok := dayNames[a]
	if !ok {
		return nil, false
	}
	if !isRange {
		return []time.Weekday{from}, true
	}
	to, ok := dayNames[b]
	if !ok {
		return nil, false
	}
	var out []time.Weekday
	for d := from; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == to {
			return out, true
		}
	}
}

// parseSpans reads "08:00-12:00,13:30-18:00"; 24:00 closes a day.
func parseSpans(s string) ([]Span, error) {
	var out []Span
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("business hours: %q: HH:MM-HH:MM expected", part)
		}
		start, err1 := parseClock(a)
		end, err2 := parseClock(b)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("business hours: %q: %w", part, err)
		}
		if end <= start {
			return nil, fmt.Errorf("business hours: %q ends before it starts", part)
		}
		out = append(out, Span{start, end})
	}
	return out, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		h, m, ok = strings.Cut(s, "h")
	}
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time such as 08:00", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time such as 08:00", s)
	}
	return hh*60 + mm, nil
}

// normalise sorts spans and merges overlapping or touching ones.
func normalise(spans []Span) []Span {
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && spans[j].Start < spans[j-1].Start; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

// Closed reports whether a whole civil date is closed (holiday or closed date).
func (c *Calendar) Closed(d Date) bool {
	if c.closed[d] {
		return true
	}
	switch c.holidays {
	case "fr":
		return isFrenchHoliday(d, false)
	case "fr-alsace":
		return isFrenchHoliday(d, true)
	}
	return false
}

// spansOn gives the day's opening spans as instants.
func (c *Calendar) spansOn(d Date) [][2]time.Time {
	if c.Closed(d) {
		return nil
	}
	wd := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, c.loc).Weekday()
	spans := c.week[wd]
	out := make([][2]time.Time, 0, len(spans))
	for _, s := range spans {
		out = append(out, [2]time.Time{c.at(d, s.Start), c.at(d, s.End)})
	}
	return out
}

func (c *Calendar) at(d Date, minute int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, minute/60, minute%60, 0, 0, c.loc)
}

func nextDay(d Date) Date {
	return dateOf(time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, time.UTC))
}

// IsOpen reports whether t falls within business hours.
func (c *Calendar) IsOpen(t time.Time) bool {
	for _, s := range c.spansOn(dateOf(t.In(c.loc))) {
		if !t.Before(s[0]) && t.Before(s[1]) {
			return true
		}
	}
	return false
}

// Between is the business time in [from, to); zero when to is not after from.
func (c *Calendar) Between(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	var total time.Duration
	last := dateOf(to.In(c.loc))
	for d := dateOf(from.In(c.loc)); ; d = nextDay(d) {
		for _, s := range c.spansOn(d) {
			a, b := s[0], s[1]
			if a.Before(from) {
				a = from
			}
			if b.After(to) {
				b = to
			}
			if b.After(a) {
				total += b.Sub(a)
			}
		}
		if d == last {
			return total
		}
	}
}

// Add is the instant at which d of business time has passed since from; ok is false when
// the calendar does not open long enough within twenty years.
func (c *Calendar) Add(from time.Time, d time.Duration) (time.Time, bool) {
	if d <= 0 {
		return from, true
	}
	day := dateOf(from.In(c.loc))
	for range maxDays {
		for _, s := range c.spansOn(day) {
			a, b := s[0], s[1]
			if !b.After(from) {
				continue
			}
			if a.Before(from) {
				a = from
			}
			if span := b.Sub(a); span >= d {
				return a.Add(d), true
			} else {
				d -= span
			}
		}
		day = nextDay(day)
	}
	return time.Time{}, false
}

// Interval is a stretch of time during which a clock runs; a zero End means still running.
type Interval struct{ Start, End time.Time }

// Elapsed sums the business time of the intervals, up to now for one still running.
func (c *Calendar) Elapsed(runs []Interval, now time.Time) time.Duration {
	var total time.Duration
	for _, r := range runs {
		end := r.End
		if end.IsZero() || end.After(now) {
			end = now
		}
		total += c.Between(r.Start, end)
	}
	return total
}
