package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the load command's sinks (`self sink …`), as
// the command's own binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "sink" {
		if err := runSink(context.Background(), os.Args[2:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeClock moves only when slept on.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestJobsForOpenLoopSchedule(t *testing.T) {
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clk := &fakeClock{now: start}
	next := jobsFor(context.Background(), start, 5, 500, clk)
	for i := range 5 {
		j, ok := next()
		if !ok {
			t.Fatalf("job %d: none", i)
		}
		want := start.Add(time.Duration(i) * 2 * time.Millisecond)
		if j.i != i || !j.due.Equal(want) {
			t.Errorf("job %d: got %d due %v, want due %v", i, j.i, j.due.Sub(start), want.Sub(start))
		}
	}
	if _, ok := next(); ok {
		t.Error("a sixth job of five")
	}
	// the scheduler slept to each due time, not longer
	if got := clk.Now().Sub(start); got != 8*time.Millisecond {
		t.Errorf("clock at %v after 5 jobs at 500/s, want 8ms", got)
	}
}

func TestJobsForClosedLoopAndCancel(t *testing.T) {
	next := jobsFor(context.Background(), time.Now(), 3, 0, realClock{})
	for i := range 3 {
		if j, ok := next(); !ok || j.i != i {
			t.Fatalf("closed loop job %d: %v %v", i, j, ok)
		}
	}
	if _, ok := next(); ok {
		t.Error("closed loop: a fourth job of three")
	}
	ctx, cancel := context.WithCancel(context.Background())
	next = jobsFor(ctx, time.Now(), 1000, 1, realClock{}) // one a second
	if _, ok := next(); !ok {
		t.Fatal("open loop: the first job is due at once")
	}
	cancel()
	done := make(chan bool)
	go func() { _, ok := next(); done <- ok }()
	select {
	case ok := <-done:
		if ok {
			t.Error("a job after the cancel")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("next did not return after the cancel")
	}
}

func TestDueAt(t *testing.T) {
	s := time.Unix(0, 0)
	for _, c := range []struct {
		rate float64
		i    int
		want time.Duration
	}{{500, 0, 0}, {500, 1, 2 * time.Millisecond}, {500, 2500, 5 * time.Second}, {50, 3, 60 * time.Millisecond}, {3, 1, 333333333}} {
		if got := dueAt(s, c.rate, c.i).Sub(s); got != c.want {
			t.Errorf("dueAt(%g, %d) = %v, want %v", c.rate, c.i, got, c.want)
		}
	}
}

// slowConn takes d per message and says so.
type slowConn struct{ d time.Duration }

func (c slowConn) send(message) (time.Duration, error) { time.Sleep(c.d); return c.d, nil }
func (slowConn) broken(error) bool                     { return false }
func (slowConn) close()                                {}

// TestDriveOpenLoopCountsQueueing: one connection that takes 4 ms per message, messages
// due every millisecond. In a closed loop each latency is the send's own; in the open
// loop the last message, due at 19 ms, cannot be answered before the 20 sends took
// 80 ms: its latency counts the wait for the connection.
func TestDriveOpenLoopCountsQueueing(t *testing.T) {
	msgs := make([]message, 20)
	dial := func(int) (conn, error) { return slowConn{4 * time.Millisecond}, nil }
	closed := drive(context.Background(), dial, msgs, 1, 0)
	if closed.OK != 20 || closed.Failed != 0 {
		t.Fatalf("closed loop: %d ok, %d failed", closed.OK, closed.Failed)
	}
	for _, l := range closed.Lat {
		if l != 4*time.Millisecond {
			t.Fatalf("closed loop latency %v, want the send's 4ms", l)
		}
	}
	open := drive(context.Background(), dial, msgs, 1, 1000)
	if open.OK != 20 {
		t.Fatalf("open loop: %d ok", open.OK)
	}
	last := open.Lat[len(open.Lat)-1]
	if last < 61*time.Millisecond {
		t.Errorf("open loop: last latency %v, want at least 61ms (80ms of sends, due at 19ms)", last)
	}
	if open.Elapsed < 80*time.Millisecond {
		t.Errorf("open loop took %v for 80ms of sends", open.Elapsed)
	}
}

// failConn fails every message; the drive counts them and dials again after a broken
// session.
type failConn struct{ dials *int }

func (failConn) send(message) (time.Duration, error) { return 0, errors.New("connection reset") }
func (failConn) broken(error) bool                   { return true }
func (failConn) close()                              {}

func TestDriveCountsFailures(t *testing.T) {
	var mu sync.Mutex
	dials := 0
	dial := func(int) (conn, error) {
		mu.Lock()
		defer mu.Unlock()
		dials++
		return failConn{}, nil
	}
	r := drive(context.Background(), dial, make([]message, 6), 2, 0)
	if r.OK != 0 || r.Failed != 6 || !strings.Contains(r.FirstErr, "connection reset") {
		t.Errorf("got %d ok, %d failed, %q", r.OK, r.Failed, r.FirstErr)
	}
	if dials != 6 {
		t.Errorf("%d dials for 6 broken sessions", dials)
	}
}

func TestParseStatCPU(t *testing.T) {
	rest := " S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 12 0 100 1000 200"
	for _, c := range []struct {
		name, stat string
		want       time.Duration
		bad        bool
	}{
		{"plain", "4242 (guichet)" + rest, 3 * time.Second, false},
		{"name with spaces and parentheses", "4242 (a) b (c))" + rest, 3 * time.Second, false},
		{"no name", "4242 guichet" + rest, 0, true},
		{"short", "4242 (guichet) S 1 2 3", 0, true},
		{"not a number", "4242 (guichet) S 1 2 3 4 5 6 7 8 9 10 x 50 0", 0, true},
		{"negative", "4242 (guichet) S 1 2 3 4 5 6 7 8 9 10 -5 50 0", 0, true},
		{"empty", "", 0, true},
	} {
		got, err := parseStatCPU([]byte(c.stat))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("%s: got %v, %v; want %v, error %v", c.name, got, err, c.want, c.bad)
		}
	}
}

func TestParseVmHWM(t *testing.T) {
	for _, c := range []struct {
		name, status string
		want         int64
		bad          bool
	}{
		{"usual", "Name:\tguichet\nVmPeak:\t 900000 kB\nVmHWM:\t   53248 kB\nVmRSS:\t 40000 kB\n", 53248 << 10, false},
		{"missing", "Name:\tguichet\nVmRSS:\t 40000 kB\n", 0, true},
		{"no unit", "VmHWM:\t53248\n", 0, true},
		{"garbage", "VmHWM:\tlots kB\n", 0, true},
		{"negative", "VmHWM:\t-3 kB\n", 0, true},
	} {
		got, err := parseVmHWM([]byte(c.status))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("%s: got %d, %v; want %d, error %v", c.name, got, err, c.want, c.bad)
		}
	}
}

// TestProcOfThisProcess reads the real files of this process.
func TestProcOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseStatCPU(stat); err != nil {
		t.Error(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := parseVmHWM(status); err != nil || n < 1<<20 {
		t.Errorf("VmHWM %d, %v", n, err)
	}
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("4242 (guichet) S 1 2 3 4 5 6 7 8 9 10 250 50 0"))
	f.Add([]byte("VmHWM:\t53248 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := parseStatCPU(b); err == nil && d < 0 {
			t.Errorf("negative CPU time %v", d)
		}
		if n, err := parseVmHWM(b); err == nil && n < 0 {
			t.Errorf("negative RSS %d", n)
		}
	})
}

func TestJudgeKeys(t *testing.T) {
	for _, c := range []struct {
		name string
		ds   []deskKeys
		ok   bool
		why  string
	}{
		{"one desk", []deskKeys{{1, 10, 10, 10, 1, 10}}, true, ""},
		{"two desks", []deskKeys{{1, 3, 3, 3, 1, 3}, {2, 2, 2, 2, 1, 2}}, true, ""},
		{"gap", []deskKeys{{1, 10, 10, 10, 1, 11}}, false, "numbers 1-11 for 10 tickets"},
		{"not from 1", []deskKeys{{1, 10, 10, 10, 2, 11}}, false, "numbers 2-11"},
		{"repeated number", []deskKeys{{1, 10, 10, 9, 1, 10}}, false, "9 numbers for 10 tickets"},
		{"repeated key", []deskKeys{{1, 10, 9, 10, 1, 10}}, false, "9 keys for 10 tickets"},
		{"no tickets", nil, false, "no tickets"},
	} {
		k := judgeKeys(c.ds)
		if k.NoGaps != c.ok || !strings.Contains(k.Why, c.why) {
			t.Errorf("%s: got %+v", c.name, k)
		}
	}
}

func TestRelayLog(t *testing.T) {
	r := newRelayLog()
	at := time.Unix(100, 0)
	r.now = func() time.Time { return at }
	if r.line("listening 127.0.0.1:25") {
		t.Error(`a "listening" line taken`)
	}
	r.line("got a@x.fr agent1@localhost")
	at = at.Add(time.Second)
	r.line("got B@x.fr")
	r.line("got a@x.fr") // a second mail to a: its first arrival stays
	if r.count("a@x.fr") != 2 || r.count("b@x.fr") != 1 || r.count("c@x.fr") != 0 {
		t.Errorf("counts a=%d b=%d c=%d", r.count("a@x.fr"), r.count("b@x.fr"), r.count("c@x.fr"))
	}
	last, err := r.wait(context.Background(), []string{"A@x.fr", "b@x.fr"}, time.Second)
	if err != nil || !last.Equal(time.Unix(101, 0)) {
		t.Errorf("wait: %v, %v; want the second line's time", last, err)
	}
	if _, err := r.wait(context.Background(), []string{"a@x.fr", "c@x.fr"}, 10*time.Millisecond); err == nil ||
		!strings.Contains(err.Error(), "1 of 2 confirmations") {
		t.Errorf("wait for c: %v", err)
	}
}

func TestJudgeRow(t *testing.T) {
	ok := side{Verified: true}
	mp := side{Verified: true, Rate: 1000, CPU: time.Millisecond}
	for _, c := range []struct {
		name   string
		r      row
		misses string
	}{
		{"closed loop met", row{Bytes: 2048, Mailpit: &mp, Guichet: side{Verified: true, Rate: 1600, CPU: 900 * time.Microsecond}}, ""},
		{"closed loop slow", row{Bytes: 2048, Mailpit: &mp, Guichet: side{Verified: true, Rate: 1400, CPU: 900 * time.Microsecond}}, "rate<1.5× mailpit"},
		{"closed loop CPU", row{Bytes: 2048, Mailpit: &mp, Guichet: side{Verified: true, Rate: 1600, CPU: time.Millisecond}}, "CPU/msg>=mailpit"},
		{"no mailpit: no ratio", row{Bytes: 2048, Guichet: ok}, ""},
		{"open loop p99", row{Bytes: 2048, Rate: 500, Mailpit: &mp, Guichet: side{Verified: true, P99: 11 * time.Millisecond}}, "p99>10ms"},
		{"open loop met", row{Bytes: 2048, Rate: 500, Mailpit: &mp, Guichet: side{Verified: true, P99: 9 * time.Millisecond}}, ""},
		{"big RSS", row{Bytes: 20 << 20, Guichet: side{Verified: true, PeakRSS: 200 << 20}}, "rss>150MB"},
		{"unchecked", row{Bytes: 2048, Guichet: side{}}, "check failed"},
	} {
		c.r.judge()
		got := strings.Join(c.r.Misses, ", ")
		if got != c.misses || c.r.Pass != (c.misses == "") {
			t.Errorf("%s: misses %q pass %v, want %q", c.name, got, c.r.Pass, c.misses)
		}
	}
}

func TestPrintTable(t *testing.T) {
	mp := side{Rate: 963, CPU: 1080 * time.Microsecond, P99: 13 * time.Millisecond, PeakRSS: 40 << 20, Verified: true, Check: "2100/2100 stored"}
	r := row{Size: "2k", Bytes: 2048, Conns: 8, N: 2000, Warmup: 100, DB: "sqlite", Instances: 1,
		Sink:    side{Rate: 4554, CPU: 170 * time.Microsecond},
		Mailpit: &mp,
		Guichet: side{Rate: 1500, CPU: 900 * time.Microsecond, P50: 2 * time.Millisecond, P99: 8 * time.Millisecond, Verified: true, Check: "2100/2100 tickets"}}
	r.judge()
	var b bytes.Buffer
	printTable(&b, []row{r})
	out := b.String()
	for _, want := range []string{"sink", "mailpit", "guichet", "4554", "963", "1500 (1.56× mailpit)", "1.080", "0.900", "2.0/0.0/8.0/0.0", "2100/2100 stored", "result: PASS", "closed loop"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	r.Mailpit, r.Rate = nil, 500
	r.judge()
	b.Reset()
	printTable(&b, []row{r})
	if out := b.String(); strings.Contains(out, "mailpit") || !strings.Contains(out, "open loop at 500 msg/s") {
		t.Errorf("open loop without mailpit:\n%s", out)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"--bin", "/x", "--sizes", "2k,200k", "--rate", "500,50", "--no-mailpit"})
	if err != nil || c.rateFor(0) != 500 || c.rateFor(1) != 50 || c.mailpit != "" {
		t.Errorf("got %+v, %v", c, err)
	}
	if c.messageCount(2048, 500) != 2500 || c.messageCount(2048, 0) != 2000 || c.messageCount(20<<20, 0) != 32 {
		t.Errorf("message counts %d %d %d", c.messageCount(2048, 500), c.messageCount(2048, 0), c.messageCount(20<<20, 0))
	}
	for _, bad := range [][]string{
		{"--bin", "/x", "--rate", "500,50,5"},
		{"--bin", "/x", "--rate", "-1"},
		{"--bin", "/x", "--rate", "fast"},
		{"--bin", "/x", "--relay-delay", "1m"}, // gone: the confirmations always leave
		{"--bin", "/x", "--sizes", "30000k"},
	} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestLoadAgainstGuichet runs the command end to end against a freshly built guichet:
// a few messages in a closed loop and a few in an open loop, with the checks.
func TestLoadAgainstGuichet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs guichet serve (-short)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := filepath.Join(t.TempDir(), "guichet")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "../guichet")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/guichet: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseFlags([]string{"--bin", bin, "--sizes", "2k,20k", "--rate", "0,200", "--messages", "40", "--warmup", "8",
		"--conns", "4", "--no-mailpit", "--timeout", "20s", "--drain-wait", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := measureAll(ctx, c, self)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		g := r.Guichet
		if !g.Verified || g.OK != 40 || r.Counts.Tickets != 48 || r.Counts.Confirmations != 48 || !r.Keys.NoGaps {
			t.Errorf("%s: %s; %+v", r.Size, g.Check, r.Counts)
		}
		if g.Rate <= 0 || g.CPU <= 0 || g.PeakRSS < 1<<20 || g.P99 <= 0 || r.Sink.OK != 40 {
			t.Errorf("%s: unmeasured: %+v, sink %+v", r.Size, g, r.Sink)
		}
	}
	if rows[1].Rate != 200 || rows[1].Guichet.Window < 150*time.Millisecond {
		t.Errorf("open loop at %g msg/s over %v: 40 messages at 200/s take 195ms at least", rows[1].Rate, rows[1].Guichet.Window)
	}
}

func TestPrintRanges(t *testing.T) {
	mp := func(rate float64) *side { return &side{Rate: rate, CPU: 600 * time.Microsecond, Verified: true} }
	rows := []row{
		{Run: 1, Size: "2k", Sink: side{Rate: 5000}, Mailpit: mp(963), Guichet: side{Rate: 326, P99: 30 * time.Millisecond, Verified: true}},
		{Run: 2, Size: "2k", Sink: side{Rate: 9000}, Mailpit: mp(1429), Guichet: side{Rate: 391, P99: 60 * time.Millisecond}},
		{Run: 1, Size: "2k", Rate: 500, Sink: side{Rate: 500}, Guichet: side{Rate: 500, Verified: true}},
	}
	var b bytes.Buffer
	printRanges(&b, rows)
	out := b.String()
	for _, want := range []string{"2k, closed loop: ranges over 2 runs (0 passed)", "5000-9000", "963-1429", "0.600", "326-391", "30.0-60.0", "1/2",
		"2k, open loop at 500 msg/s: ranges over 1 runs"} {
		if !strings.Contains(out, want) {
			t.Errorf("ranges lack %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "mailpit") != 1 {
		t.Errorf("mailpit listed for the open loop without it:\n%s", out)
	}
}

func TestDoneLatency(t *testing.T) {
	r := newRelayLog()
	start := time.Unix(1000, 0)
	var meas []message
	for i := range 4 {
		m := message{from: string(rune('a'+i)) + "@x.fr"}
		meas = append(meas, m)
		// due at start + i×10 ms (100/s), confirmed (i+1)×5 ms after
		at := dueAt(start, 100, i).Add(time.Duration(i+1) * 5 * time.Millisecond)
		r.now = func() time.Time { return at }
		r.line("got " + m.from)
	}
	p50, p99 := doneLatency(r, meas, start, 100)
	if p50 != 10*time.Millisecond || p99 != 20*time.Millisecond {
		t.Errorf("p50 %v p99 %v, want 10ms 20ms", p50, p99)
	}
}
