package bizhours

import "time"

// Easter gives Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm, also
// known as Meeus/Jones/Butcher).
func Easter(year int) Date {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

func addDays(d Date, n int) Date {
	return dateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

// FrenchHolidays lists France's public holidays of a year in date order: New Year, Easter
// Monday, 1 May, 8 May, Ascension, Whit Monday, 14 July, 15 August, 1 November,
// 11 November and Christmas; alsace adds Good Friday and 26 December (Alsace-Moselle).
func FrenchHolidays(year int, alsace bool) []Date {
	e := Easter(year)
	out := []Date{{year, time.January, 1}}
	if alsace {
		out = append(out, addDays(e, -2))
	}
	out = append(out,
		addDays(e, 1),
		Date{year, time.May, 1},
		Date{year, time.May, 8},
		addDays(e, 39),
		addDays(e, 50),
		Date{year, time.July, 14},
		Date{year, time.August, 15},
		Date{year, time.November, 1},
		Date{year, time.November, 11},
		Date{year, time.December, 25},
	)
	if alsace {
		out = append(out, Date{year, time.December, 26})
	}
	// Ascension can fall on 1 or 8 May: keep the order by date, one entry per day.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && before(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	dedup := out[:0]
	for _, d := range out {
		if n := len(dedup); n == 0 || dedup[n-1] != d {
			dedup = append(dedup, d)
		}
	}
	return dedup
}

func before(a, b Date) bool {
	if a.Year != b.Year {
		return a.Year < b.Year
	}
	if a.Month != b.Month {
		return a.Month < b.Month
	}
	return a.Day < b.Day
}

func isFrenchHoliday(d Date, alsace bool) bool {
	switch {
	case d.Month == time.January && d.Day == 1,
		d.Month == time.May && (d.Day == 1 || d.Day == 8),
		d.Month == time.July && d.Day == 14,
		d.Month == time.August && d.Day == 15,
		d.Month == time.November && (d.Day == 1 || d.Day == 11),
		d.Month == time.December && d.Day == 25,
		alsace && d.Month == time.December && d.Day == 26:
		return true
	}
	if d.Month < time.March || d.Month > time.June {
		return false
	}
	e := Easter(d.Year)
	offsets := []int{1, 39, 50}
	if alsace {
		offsets = append(offsets, -2)
	}
	for _, n := range offsets {
		if addDays(e, n) == d {
			return true
		}
	}
	return false
}
