package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the issue, against Mailpit measured in the same run.
const (
	targetVsMailpit = 1.5                   // Guichet's rate over Mailpit's, closed loop
	targetP99       = 10 * time.Millisecond // of the 250, open loop
	targetBigRSS    = 150 << 20             // peak RSS with messages over 1 MiB
	bigMessage      = 1 << 20
)

// side is one server's measures in a row.
type side struct {
	// Rate is messages done per second over the measured window: from the first
	// measured message to the last one done (its 250; for Guichet, its confirmation at
	// the relay sink).
	Rate    float64       `json:"msgs_per_s"`
	Rate250 float64       `json:"replies_per_s"` // 250 replies per second over the drive
	Window  time.Duration `json:"window_ns"`
	OK      int           `json:"ok"`
	Failed  int           `json:"failed"`
	// Latencies of the 250: from the end of the data in a closed loop, from the
	// message's scheduled start in an open loop.
	P50     time.Duration `json:"p50_ns"`
	P90     time.Duration `json:"p90_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
	PeakRSS int64         `json:"peak_rss_bytes"` // VmHWM, the largest instance's
	// Guichet in an open loop: from each message's scheduled start to its confirmation
	// at the relay sink (the whole job's latency).
	DoneP50 time.Duration `json:"done_p50_ns,omitempty"`
	DoneP99 time.Duration `json:"done_p99_ns,omitempty"`
	start   time.Time     // the first measured message's start
	Err     string        `json:"first_error,omitempty"`
	// CPU time per measured message over the window: the server's (all instances,
	// utime+stime from /proc/PID/stat) and the client's (this process, which sends the
	// messages and follows the relay sink).
	CPU       time.Duration `json:"cpu_per_msg_ns"`
	ClientCPU time.Duration `json:"client_cpu_per_msg_ns"`
	Verified  bool          `json:"verified"`
	Check     string        `json:"check"`
}

// cpuMeter measures the CPU time that servers and this process use over a stretch.
type cpuMeter struct {
	srvs        []*child
	srv0, self0 time.Duration
}

func startCPU(srvs ...*child) cpuMeter {
	m := cpuMeter{srvs: srvs, self0: selfCPU()}
	for _, s := range srvs {
		m.srv0 += s.cpuTime()
	}
	return m
}

// server returns the servers' CPU time per message so far, over n messages.
func (m cpuMeter) server(n int) time.Duration {
	var t time.Duration
	for _, s := range m.srvs {
		t += s.cpuTime()
	}
	return (t - m.srv0) / time.Duration(max(n, 1))
}

// client returns this process's CPU time per message so far, over n messages.
func (m cpuMeter) client(n int) time.Duration {
	return (selfCPU() - m.self0) / time.Duration(max(n, 1))
}

func sideOf(r driveResult) side {
	s := side{Rate: r.rate(), Rate250: r.rate(), Window: r.Elapsed, OK: r.OK, Failed: r.Failed, Err: r.FirstErr}
	l := slices.Clone(r.Lat)
	slices.Sort(l)
	s.P50, s.P90, s.P99, s.Max = pct(l, 0.50), pct(l, 0.90), pct(l, 0.99), pct(l, 1)
	return s
}

// pct is the nearest-rank percentile of sorted l.
func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(float64(len(l))*p+0.999999) - 1
	return l[max(0, min(i, len(l)-1))]
}

// row is one size's result.
type row struct {
	Run       int           `json:"run"` // 1 to --repeat
	Size      string        `json:"size"`
	Bytes     int           `json:"bytes"`
	Rate      float64       `json:"open_loop_rate"` // 0: closed loop
	DB        string        `json:"database"`
	Instances int           `json:"instances"`
	Conns     int           `json:"conns"`
	N         int           `json:"messages"`
	Warmup    int           `json:"warmup"`
	Sink      side          `json:"sink"`
	Mailpit   *side         `json:"mailpit,omitempty"`
	Guichet   side          `json:"guichet"`
	Counts    dbCounts      `json:"db"`
	Keys      keyCheck      `json:"keys"`
	Drain     time.Duration `json:"outbox_drain_ns"`
	RelayRSS  int64         `json:"relay_peak_rss_bytes"`
	LogErrors int           `json:"guichet_error_logs"`
	FirstLog  string        `json:"guichet_first_error,omitempty"`
	Pass      bool          `json:"pass"`
	Misses    []string      `json:"misses,omitempty"`
}

// vsMailpit is Guichet's rate over Mailpit's, 0 without Mailpit.
func (r row) vsMailpit() float64 {
	if r.Mailpit == nil || r.Mailpit.Rate <= 0 {
		return 0
	}
	return r.Guichet.Rate / r.Mailpit.Rate
}

// judge fills Pass and Misses with the targets that apply to the row: in a closed
// loop, 1.5× Mailpit's rate and less server CPU per message than Mailpit (when Mailpit
// was measured); in an open loop, a p99 of the 250 of at most 10 ms; for messages over
// 1 MiB, a peak RSS of at most 150 MB; always, every message checked.
func (r *row) judge() {
	var m []string
	if !r.Guichet.Verified {
		m = append(m, "check failed")
	}
	if r.Mailpit != nil && !r.Mailpit.Verified {
		m = append(m, "mailpit check failed")
	}
	if r.Rate == 0 && r.Mailpit != nil && r.Bytes <= bigMessage {
		if r.vsMailpit() < targetVsMailpit {
			m = append(m, fmt.Sprintf("rate<%.1f× mailpit", targetVsMailpit))
		}
		if r.Guichet.CPU >= r.Mailpit.CPU {
			m = append(m, "CPU/msg>=mailpit")
		}
	}
	if r.Rate > 0 && r.Guichet.P99 > targetP99 {
		m = append(m, "p99>10ms")
	}
	if r.Bytes > bigMessage && r.Guichet.PeakRSS > targetBigRSS {
		m = append(m, "rss>150MB")
	}
	r.Misses, r.Pass = m, len(m) == 0
}

func printTable(w io.Writer, rows []row) {
	for i, r := range rows {
		if i > 0 {
			fmt.Fprintln(w)
		}
		loop := "closed loop"
		if r.Rate > 0 {
			loop = fmt.Sprintf("open loop at %g msg/s, latency from each message's scheduled start", r.Rate)
		}
		fmt.Fprintf(w, "%s: %d messages (+%d warm-up), %d connections, %s; guichet on %s, %d instance(s); %d CPUs\n",
			r.Size, r.N, r.Warmup, r.Conns, loop, r.DB, r.Instances, runtime.NumCPU())
		sides := []*side{&r.Sink}
		names := []string{"sink"}
		if r.Mailpit != nil {
			sides, names = append(sides, r.Mailpit), append(names, "mailpit")
		}
		sides, names = append(sides, &r.Guichet), append(names, "guichet")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		line := func(what string, f func(s *side) string) {
			cells := []string{"  " + what}
			for _, s := range sides {
				cells = append(cells, f(s))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		line("", func(s *side) string { return names[slices.Index(sides, s)] })
		line("msg/s (done)", func(s *side) string {
			v := rateText(s.Rate)
			if s == &r.Guichet && r.vsMailpit() > 0 {
				v += fmt.Sprintf(" (%.2f× mailpit)", r.vsMailpit())
			}
			return v
		})
		line("250 replies/s", func(s *side) string { return rateText(s.Rate250) })
		line("server CPU/msg ms", func(s *side) string { return fmt.Sprintf("%.3f", ms(s.CPU)) })
		line("client CPU/msg ms", func(s *side) string { return fmt.Sprintf("%.3f", ms(s.ClientCPU)) })
		line("250 p50/p90/p99/max ms", func(s *side) string {
			return fmt.Sprintf("%.1f/%.1f/%.1f/%.1f", ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
		})
		if r.Rate > 0 && r.Guichet.DoneP99 > 0 {
			line("confirmed p50/p99 ms", func(s *side) string {
				if s != &r.Guichet {
					return "(at the 250)"
				}
				return fmt.Sprintf("%.1f/%.1f", ms(s.DoneP50), ms(s.DoneP99))
			})
		}
		line("peak RSS MB", func(s *side) string { return fmt.Sprintf("%.0f", mb(s.PeakRSS)) })
		line("failed", func(s *side) string { return fmt.Sprint(s.Failed) })
		tw.Flush()
		if r.Mailpit != nil {
			fmt.Fprintf(w, "  mailpit: %s\n", r.Mailpit.Check)
		}
		fmt.Fprintf(w, "  guichet: %s\n", r.Guichet.Check)
		c := r.Counts
		fmt.Fprintf(w, "  guichet: agent mails %d; outbox sent %d, pending %d, %.1fs after the run; relay sink RSS %.0f MB\n",
			c.AgentMails, c.OutboxSent, c.OutboxPending, r.Drain.Seconds(), mb(r.RelayRSS))
		if r.LogErrors > 0 {
			fmt.Fprintf(w, "  guichet logged %d errors; first: %s\n", r.LogErrors, r.FirstLog)
		}
		for k, s := range sides {
			if s.Failed > 0 {
				fmt.Fprintf(w, "  %s: %d messages failed; first: %s\n", names[k], s.Failed, s.Err)
			}
		}
		res := "PASS"
		if !r.Pass {
			res = "FAIL (" + strings.Join(r.Misses, ", ") + ")"
		}
		fmt.Fprintf(w, "  result: %s\n", res)
	}
}

// rateText shows a rate with two significant digits at least.
func rateText(r float64) string {
	switch {
	case r < 10:
		return fmt.Sprintf("%.2f", r)
	case r < 100:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.0f", r)
}

// printRanges prints, for each size and loop measured several times, each server's
// range over the runs: the figures to quote from a shared machine.
func printRanges(w io.Writer, rows []row) {
	type key struct {
		size string
		rate float64
	}
	var order []key
	groups := map[key][]row{}
	for _, r := range rows {
		k := key{r.Size, r.Rate}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	for _, k := range order {
		g := groups[k]
		loop := "closed loop"
		if k.rate > 0 {
			loop = fmt.Sprintf("open loop at %g msg/s", k.rate)
		}
		pass := 0
		for _, r := range g {
			if r.Pass {
				pass++
			}
		}
		fmt.Fprintf(w, "%s, %s: ranges over %d runs (%d passed)\n", k.size, loop, len(g), pass)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  \tmsg/s (done)\tserver CPU/msg ms\t250 p99 ms\tpeak RSS MB\tchecked\t")
		for _, name := range []string{"sink", "mailpit", "guichet"} {
			var ss []side
			for _, r := range g {
				switch {
				case name == "sink":
					ss = append(ss, r.Sink)
				case name == "mailpit" && r.Mailpit != nil:
					ss = append(ss, *r.Mailpit)
				case name == "guichet":
					ss = append(ss, r.Guichet)
				}
			}
			if len(ss) == 0 {
				continue
			}
			checked := 0
			for _, s := range ss {
				if s.Verified {
					checked++
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d/%d\t\n", name,
				span(ss, func(s side) float64 { return s.Rate }, rateText),
				span(ss, func(s side) float64 { return ms(s.CPU) }, func(v float64) string { return fmt.Sprintf("%.3f", v) }),
				span(ss, func(s side) float64 { return ms(s.P99) }, func(v float64) string { return fmt.Sprintf("%.1f", v) }),
				span(ss, func(s side) float64 { return mb(s.PeakRSS) }, func(v float64) string { return fmt.Sprintf("%.0f", v) }),
				checked, len(ss))
		}
		tw.Flush()
	}
}

// span is "min-max" of f over ss, or one value when they are equal.
func span(ss []side, f func(side) float64, text func(float64) string) string {
	lo, hi := f(ss[0]), f(ss[0])
	for _, s := range ss[1:] {
		lo, hi = min(lo, f(s)), max(hi, f(s))
	}
	if text(lo) == text(hi) {
		return text(lo)
	}
	return text(lo) + "-" + text(hi)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(n int64) float64         { return float64(n) / (1 << 20) }

func printJSON(w io.Writer, rows []row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}
