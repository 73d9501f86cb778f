package bizhours

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var paris = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// at reads "2026-05-13 17:00" in Paris time.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, paris)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEaster(t *testing.T) {
	for year, want := range map[int]string{
		2000: "2000-04-23", 2008: "2008-03-23", 2011: "2011-04-24", 2019: "2019-04-21",
		2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28",
		2038: "2038-04-25", 2285: "2285-03-22",
	} {
		if got := Easter(year).String(); got != want {
			t.Errorf("Easter(%d) = %s, want %s", year, got, want)
		}
	}
}

func TestFrenchHolidays(t *testing.T) {
	tests := []struct {
		year   int
		alsace bool
		want   string
	}{
		{2026, false, "2026-01-01 2026-04-06 2026-05-01 2026-05-08 2026-05-14 2026-05-25 2026-07-14 2026-08-15 2026-11-01 2026-11-11 2026-12-25"},
		{2027, false, "2027-01-01 2027-03-29 2027-05-01 2027-05-06 2027-05-08 2027-05-17 2027-07-14 2027-08-15 2027-11-01 2027-11-11 2027-12-25"},
		{2026, true, "2026-01-01 2026-04-03 2026-04-06 2026-05-01 2026-05-08 2026-05-14 2026-05-25 2026-07-14 2026-08-15 2026-11-01 2026-11-11 2026-12-25 2026-12-26"},
		// 2008: Ascension on 1 May, one holiday for both.
		{2008, false, "2008-01-01 2008-03-24 2008-05-01 2008-05-08 2008-05-12 2008-07-14 2008-08-15 2008-11-01 2008-11-11 2008-12-25"},
	}
	for _, tt := range tests {
		var got []string
		for _, d := range FrenchHolidays(tt.year, tt.alsace) {
			got = append(got, d.String())
			if !isFrenchHoliday(d, tt.alsace) {
				t.Errorf("isFrenchHoliday(%s, %v) = false", d, tt.alsace)
			}
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("FrenchHolidays(%d, %v)\n got %s\nwant %s", tt.year, tt.alsace, g, tt.want)
		}
	}
	// Every other day of the year is not a holiday.
	n := 0
	for d := (Date{2026, 1, 1}); d.Year == 2026; d = nextDay(d) {
		if isFrenchHoliday(d, false) {
			n++
		}
	}
	if n != 11 {
		t.Errorf("2026 has %d French holidays by isFrenchHoliday, want 11", n)
	}
}

func TestBetween(t *testing.T) {
	def := MustDefault()
	lunch, err := Parse("Europe/Paris lun-ven 08:00-12:00,13:30-18:00 sam 09:00-12:00 holidays=fr closed=2026-12-24")
	if err != nil {
		t.Fatal(err)
	}
	h := time.Hour
	tests := []struct {
		name     string
		cal      *Calendar
		from, to string
		want     time.Duration
	}{
		{"within a day", def, "2026-12-07 09:00", "2026-12-07 11:30", 2*h + 30*time.Minute},
		{"before opening to after closing", def, "2026-12-07 06:00", "2026-12-07 21:00", 10 * h},
		{"overnight", def, "2026-12-07 17:00", "2026-12-08 09:00", 2 * h},
		{"over a week-end", def, "2026-12-04 17:00", "2026-12-07 09:00", 2 * h},
		{"week-end only", def, "2026-12-05 08:00", "2026-12-06 20:00", 0},
		{"whole week", def, "2026-12-07 00:00", "2026-12-14 00:00", 50 * h},
		{"over Ascension", def, "2026-05-13 17:00", "2026-05-15 09:00", 2 * h},
		{"Christmas to New Year", def, "2026-12-24 00:00", "2027-01-04 00:00", 50 * h}, // 24th, 28th-31st,
		{"Easter Monday 2027", def, "2027-03-29 00:00", "2027-03-30 00:00", 0},
		{"14 July", def, "2026-07-14 08:00", "2026-07-14 18:00", 0},
		{"reversed", def, "2026-12-08 09:00", "2026-12-07 09:00", 0},
		{"empty", def, "2026-12-08 09:00", "2026-12-08 09:00", 0},
		{"lunch break", lunch, "2026-12-07 11:00", "2026-12-07 14:00", 1*h + 30*time.Minute},
		{"Saturday morning", lunch, "2026-12-05 00:00", "2026-12-06 00:00", 3 * h},
		{"closed date", lunch, "2026-12-24 00:00", "2026-12-25 00:00", 0},
		// Daylight saving: 08:00-18:00 stays 10 hours on the days of the change.
		{"spring forward week", def, "2026-03-27 00:00", "2026-03-31 00:00", 20 * h},
		{"fall back week", def, "2026-10-23 00:00", "2026-10-27 00:00", 20 * h},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.Between(at(t, tt.from), at(t, tt.to)); got != tt.want {
				t.Errorf("Between(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
	// Instants in another zone are the same instants.
	from := at(t, "2026-12-07 09:00").In(time.UTC)
	if got := def.Between(from, from.Add(time.Hour).In(mustLoad("Asia/Tokyo"))); got != h {
		t.Errorf("Between across zones = %v, want 1h", got)
	}
}

func TestTwentyFourSeven(t *testing.T) {
	c, err := Parse("Europe/Paris 24x7")
	if err != nil {
		t.Fatal(err)
	}
	// The night the clocks go forward has 23 hours.
	if got := c.Between(at(t, "2026-03-29 00:00"), at(t, "2026-03-30 00:00")); got != 23*time.Hour {
		t.Errorf("29 March 2026 = %v, want 23h", got)
	}
	if got := c.Between(at(t, "2026-10-25 00:00"), at(t, "2026-10-26 00:00")); got != 25*time.Hour {
		t.Errorf("25 October 2026 = %v, want 25h", got)
	}
}

func TestAdd(t *testing.T) {
	def := MustDefault()
	h := time.Hour
	tests := []struct {
		name string
		from string
		d    time.Duration
		want string
	}{
		{"same day", "2026-12-07 09:00", 4 * h, "2026-12-07 13:00"},
		{"ends at closing", "2026-12-07 14:00", 4 * h, "2026-12-07 18:00"},
		{"next morning", "2026-12-07 17:30", h, "2026-12-08 08:30"},
		{"from the night", "2026-12-07 22:00", h, "2026-12-08 09:00"},
		{"over the week-end", "2026-12-04 17:30", h, "2026-12-07 08:30"},
		{"over Christmas", "2026-12-24 17:00", 2 * h, "2026-12-28 09:00"},
		{"a business week", "2026-12-07 08:00", 50 * h, "2026-12-11 18:00"},
		{"zero", "2026-12-05 12:00", 0, "2026-12-05 12:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := def.Add(at(t, tt.from), tt.d)
			if !ok || !got.Equal(at(t, tt.want)) {
				t.Errorf("Add(%s, %v) = %s %v, want %s", tt.from, tt.d, got.In(paris).Format("2006-01-02 15:04"), ok, tt.want)
			}
		})
	}
}

// TestAddBetween checks that Add and Between agree on random instants and durations.
func TestAddBetween(t *testing.T) {
	cals := []string{Default, "Europe/Paris lun-ven 08:00-12:00,13:30-18:00 holidays=fr-alsace", "America/New_York mon-sat 09:00-17:00 holidays=none", "Europe/Paris 24x7"}
	r := rand.New(rand.NewPCG(1, 2))
	base := at(t, "2025-01-01 00:00")
	for _, spec := range cals {
		c, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			from := base.Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
			d := time.Duration(r.Int64N(int64(200 * time.Hour)))
			end, ok := c.Add(from, d)
			if !ok {
				t.Fatalf("%s: Add(%s, %v) found no end", spec, from, d)
			}
			if got := c.Between(from, end); got != d {
				t.Fatalf("%s: Between(%s, Add(…, %v) = %s) = %v", spec, from, d, end, got)
			}
			if d > 0 && !c.IsOpen(end.Add(-time.Nanosecond)) {
				t.Fatalf("%s: the business time before %s is not open", spec, end)
			}
		}
	}
}

func TestElapsedPauses(t *testing.T) {
	def := MustDefault()
	// Opened Monday 16:00, paused ("En attente utilisateur") 17:00 to Tuesday 10:00, running
	// since; now Wednesday 09:00: 1h Monday + 8h Tuesday + 1h Wednesday.
	runs := []Interval{
		{at(t, "2026-12-07 16:00"), at(t, "2026-12-07 17:00")},
		{Start: at(t, "2026-12-08 10:00")},
	}
	if got := def.Elapsed(runs, at(t, "2026-12-09 09:00")); got != 10*time.Hour {
		t.Errorf("Elapsed = %v, want 10h", got)
	}
	// A pause across a week-end and a holiday counts nothing.
	runs = []Interval{{at(t, "2026-05-13 17:00"), at(t, "2026-05-13 17:30")}, {Start: at(t, "2026-05-18 08:00")}}
	if got := def.Elapsed(runs, at(t, "2026-05-18 09:00")); got != 90*time.Minute {
		t.Errorf("Elapsed over a paused Ascension week-end = %v, want 1h30", got)
	}
}

func TestParse(t *testing.T) {
	good := []string{
		Default,
		"Europe/Paris lun-ven 8h00-18h00",
		"UTC mon 00:00-24:00",
		"Europe/Paris fri-mon 10:00-11:00 holidays=none closed=2026-12-24,2026-12-31",
		"Europe/Paris mon-fri 08:00-12:00 mon-fri 11:00-13:00", // merged into 08:00-13:00
	}
	for _, s := range good {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	c, _ := Parse("Europe/Paris mon-fri 08:00-12:00 mon-fri 11:00-13:00")
	if got := c.week[time.Monday]; len(got) != 1 || got[0] != (Span{480, 780}) {
		t.Errorf("overlapping spans = %v, want one 08:00-13:00", got)
	}
	c, _ = Parse("Europe/Paris fri-mon 10:00-11:00")
	for _, d := range []time.Weekday{time.Friday, time.Saturday, time.Sunday, time.Monday} {
		if len(c.week[d]) != 1 {
			t.Errorf("fri-mon: %v has %v", d, c.week[d])
		}
	}
	bad := map[string]string{
		"":                                 "empty",
		"Mars/Olympus mon-fri 08:00-18:00": "not a time zone",
		"Local mon-fri 08:00-18:00":        "not a time zone",
		"Europe/Paris 08:00-18:00":         "before any day",
		"Europe/Paris mon-fri 18:00-08:00": "ends before it starts",
		"Europe/Paris mon-fri 8-18":        "is not a time such as 08:00",
		"Europe/Paris mon-fri 25:00-26:00": "not a time",
		"Europe/Paris mon-fri 08:60-09:00": "not a time",
		"Europe/Paris holidays=us":         "fr, fr-alsace or none",
		"Europe/Paris closed=24/12/2026":   "YYYY-MM-DD",
		"Europe/Paris holidays=fr":         "no opening hours",
	}
	for s, want := range bad {
		_, err := Parse(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", s, err, want)
		}
	}
}

func TestAddNeverOpen(t *testing.T) {
	// Open only on 29 February, closed by date every leap year in range: never open.
	spec := "UTC mon-sun 10:00-11:00 closed="
	var dates []string
	for d := (Date{2026, 1, 1}); d.Year < 2048; d = nextDay(d) {
		dates = append(dates, d.String())
	}
	c, err := Parse(spec + strings.Join(dates, ","))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Add(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour); ok {
		t.Error("Add found an end on a calendar closed for twenty years")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{Default, "Europe/Paris 24x7", "UTC sat-tue 23:00-24:00,00:00-01:00 closed=2026-01-01", "Europe/Paris lun 8h00-9h00"} {
		f.Add(s, int64(0), int64(time.Hour))
	}
	f.Fuzz(func(t *testing.T, spec string, from, d int64) {
		c, err := Parse(spec)
		if err != nil {
			return
		}
		if _, err := Parse(c.String()); err != nil {
			t.Fatalf("String() %q does not parse again: %v", c.String(), err)
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(from % int64(400*24*time.Hour)))
		dur := time.Duration(d % int64(300*time.Hour))
		if dur < 0 {
			dur = -dur
		}
		end, ok := c.Add(start, dur)
		if ok && c.Between(start, end) != dur {
			t.Fatalf("%q: Between(start, Add(start, %v)) = %v", spec, dur, c.Between(start, end))
		}
	})
}

func BenchmarkBetween(b *testing.B) {
	c := MustDefault()
	from := time.Date(2026, 11, 2, 9, 0, 0, 0, paris)
	for _, days := range []int{1, 30, 365} {
		b.Run(fmt.Sprintf("%dd", days), func(b *testing.B) {
			to := from.AddDate(0, 0, days)
			for b.Loop() {
				c.Between(from, to)
			}
		})
	}
}
