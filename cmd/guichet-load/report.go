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

// Targets of the issue.
const (
	targetRatioSmall = 0.5 // of the sink's rate, for messages up to 16 KiB
	targetRatioLarge = 0.7 // for larger ones
	targetP99        = 10 * time.Millisecond
	targetPeakRSS    = 64 << 20
)

// side is one server's measures in a row.
type side struct {
	Rate    float64       `json:"msgs_per_s"`     // 250 replies per second
	E2ERate float64       `json:"e2e_msgs_per_s"` // messages processed (ticket and outbox rows) per second
	OK      int           `json:"ok"`
	Failed  int           `json:"failed"`
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
	PeakRSS int64         `json:"peak_rss_bytes"`
	Err     string        `json:"first_error,omitempty"`
	// CPU time per message driven (warm-up included): the server's (all instances),
	// until the last 250 for the sink and until the last message is processed for
	// Guichet, and the client's (this process, which sends the messages) until the last
	// 250.
	CPU       time.Duration `json:"cpu_per_msg_ns"`
	ClientCPU time.Duration `json:"client_cpu_per_msg_ns"`
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

func sideOf(r driveResult, rss int64) side {
	s := side{Rate: r.rate(), OK: r.OK, Failed: r.Failed, PeakRSS: rss, Err: r.FirstErr}
	l := slices.Clone(r.Lat)
	slices.Sort(l)
	s.P50, s.P99, s.Max = pct(l, 0.50), pct(l, 0.99), pct(l, 1)
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
	Size      string        `json:"size"`
	DB        string        `json:"database"`
	Instances int           `json:"instances"`
	Bytes     int           `json:"bytes"`
	Conns     int           `json:"conns"`
	N         int           `json:"messages"`
	Warmup    int           `json:"warmup"`
	Sink      side          `json:"sink"`
	Guichet   side          `json:"guichet"`
	Ratio     float64       `json:"ratio"`
	Target    float64       `json:"target_ratio"`
	Counts    dbCounts      `json:"db"`
	Committed bool          `json:"all_committed"`
	Drain     time.Duration `json:"outbox_drain_ns"`
	RelayRSS  int64         `json:"relay_peak_rss_bytes"`
	LogErrors int           `json:"guichet_error_logs"`
	FirstLog  string        `json:"guichet_first_error,omitempty"`
	Pass      bool          `json:"pass"`
	Misses    []string      `json:"misses,omitempty"`
}

// judge fills Ratio, Pass and Misses.
func (r *row) judge() {
	if r.Sink.Rate > 0 {
		r.Ratio = min(r.Guichet.Rate, r.Guichet.E2ERate) / r.Sink.Rate
	}
	var m []string
	if !r.Committed {
		m = append(m, "not all committed")
	}
	if r.Ratio < r.Target {
		m = append(m, fmt.Sprintf("ratio<%.1f", r.Target))
	}
	if r.Guichet.P99 >= targetP99 {
		m = append(m, "p99>=10ms")
	}
	if r.Guichet.PeakRSS >= targetPeakRSS {
		m = append(m, "rss>=64MB")
	}
	r.Misses, r.Pass = m, len(m) == 0
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tdb\tinst\tconns\tN\tsink msg/s\tguichet msg/s (250/e2e)\tratio\tsink p50/p99/max ms\tguichet p50/p99/max ms\tsink RSS MB\tguichet RSS MB\tcommitted\tresult\t")
	for _, r := range rows {
		res := "PASS"
		if !r.Pass {
			res = "FAIL (" + strings.Join(r.Misses, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.0f/%.0f\t%.2f\t%s\t%s\t%.1f\t%.1f\t%d/%d\t%s\t\n",
			r.Size, r.DB, r.Instances, r.Conns, r.N, r.Sink.Rate, r.Guichet.Rate, r.Guichet.E2ERate, r.Ratio, lats(r.Sink), lats(r.Guichet),
			mb(r.Sink.PeakRSS), mb(r.Guichet.PeakRSS), r.Counts.Confirmations, r.N+r.Warmup, res)
	}
	tw.Flush()
	for _, r := range rows {
		c := r.Counts
		fmt.Fprintf(w, "%s: db inbound=%d processed=%d tickets=%d confirmations=%d agent_mails=%d; outbox sent=%d pending=%d after %.1fs; relay sink RSS %.1f MB\n",
			r.Size, c.Inbound, c.Processed, c.Tickets, c.Confirmations, c.AgentMails, c.OutboxSent, c.OutboxPending, r.Drain.Seconds(), mb(r.RelayRSS))
		fmt.Fprintf(w, "%s: CPU per message on %d CPUs: sink %.3f ms + client %.3f ms; guichet %.3f ms + client %.3f ms\n",
			r.Size, runtime.NumCPU(), ms(r.Sink.CPU), ms(r.Sink.ClientCPU), ms(r.Guichet.CPU), ms(r.Guichet.ClientCPU))
		if r.LogErrors > 0 {
			fmt.Fprintf(w, "%s: guichet logged %d errors; first: %s\n", r.Size, r.LogErrors, r.FirstLog)
		}
		for _, s := range []struct {
			name string
			s    side
		}{{"sink", r.Sink}, {"guichet", r.Guichet}} {
			if s.s.Failed > 0 {
				fmt.Fprintf(w, "%s: %s: %d messages failed; first: %s\n", r.Size, s.name, s.s.Failed, s.s.Err)
			}
		}
	}
}

func lats(s side) string {
	return fmt.Sprintf("%.2f/%.2f/%.2f", ms(s.P50), ms(s.P99), ms(s.Max))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(n int64) float64         { return float64(n) / (1 << 20) }

func printJSON(w io.Writer, rows []row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}
