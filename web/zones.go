package web

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// zoneGroup is one region of the profile's time zone choices (§9), as people read them.
type zoneGroup struct {
	Region string // text key "region.<IANA area>"
	Zones  []zoneOption
}

type zoneOption struct {
	Value string // the IANA name, what is stored
	Label string // "(GMT+01:00) Paris"
}

// zoneChoices are the offered zones by IANA area, each sorted by offset then city. The
// offset is the standard one (the smaller of January's and July's, summer time adding an
// hour), as "(GMT+01:00) Paris" reads all year.
var zoneChoices = func() map[string][]zoneOption {
	year := time.Now().Year()
	type z struct {
		zoneOption
		off int
	}
	byArea := map[string][]z{}
	for _, name := range timeZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			continue // tzdata older than the list: not offered rather than wrong
		}
		_, jan := time.Date(year, 1, 1, 12, 0, 0, 0, loc).Zone()
		_, jul := time.Date(year, 7, 1, 12, 0, 0, 0, loc).Zone()
		off := min(jan, jul)
		area, city, _ := strings.Cut(name, "/")
		if city == "" {
			city = name // UTC
		}
		if i := strings.LastIndexByte(city, '/'); i >= 0 {
			city = city[i+1:] // America/Argentina/Buenos_Aires → Buenos Aires
		}
		byArea[area] = append(byArea[area], z{zoneOption{Value: name, Label: gmtLabel(off) + " " + strings.ReplaceAll(city, "_", " ")}, off})
	}
	out := map[string][]zoneOption{}
	for area, zs := range byArea {
		slices.SortFunc(zs, func(a, b z) int {
			return cmp.Or(cmp.Compare(a.off, b.off), strings.Compare(a.Label, b.Label))
		})
		for _, z := range zs {
			out[area] = append(out[area], z.zoneOption)
		}
	}
	return out
}()

// gmtLabel writes an offset east of UTC in seconds as "(GMT+01:00)".
func gmtLabel(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("(GMT%c%02d:%02d)", sign, off/3600, off%3600/60)
}

// zoneGroups are the time zone choices with current's region first, the others in the
// order of their IANA names.
func zoneGroups(current string) []zoneGroup {
	areas := make([]string, 0, len(zoneChoices))
	for a := range zoneChoices {
		areas = append(areas, a)
	}
	slices.Sort(areas)
	mine, _, _ := strings.Cut(current, "/")
	if i := slices.Index(areas, mine); i > 0 {
		areas = append(append([]string{mine}, areas[:i]...), areas[i+1:]...)
	}
	out := make([]zoneGroup, 0, len(areas))
	for _, a := range areas {
		out = append(out, zoneGroup{Region: "region." + a, Zones: zoneChoices[a]})
	}
	return out
}
