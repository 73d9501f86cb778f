package multitest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Idle budget of `guichet serve` over idleWindow: what a server with no traffic may
// write and spend. It used to write ~25 MB and spend ~1.7 CPU-s every 10 s (its outbox
// sender woke itself after each of its own empty claims).
const (
	idleWindow   = 10 * time.Second
	idleMaxWrite = 64 << 10
	idleMaxCPU   = 200 * time.Millisecond
	// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on
	// every Linux that Go supports (sysconf(_SC_CLK_TCK) needs cgo to ask).
	clockTick = 10 * time.Millisecond
)

// procUsage is what /proc says a process wrote and spent so far.
type procUsage struct {
	wchar      int64 // bytes passed to write(2) and the like: files, sockets, logs
	syscw      int64 // write system calls
	writeBytes int64 // bytes sent to the storage layer (0 on tmpfs)
	cpu        time.Duration
}

// readUsage reads /proc/<pid>/io and /proc/<pid>/stat.
func readUsage(pid int) (procUsage, error) {
	var u procUsage
	io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return u, err
	}
	fields := map[string]*int64{"wchar": &u.wchar, "syscw": &u.syscw, "write_bytes": &u.writeBytes}
	for _, line := range strings.Split(string(io), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if p := fields[k]; ok && p != nil {
			if *p, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
				return u, fmt.Errorf("/proc/%d/io %s: %w", pid, k, err)
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name, in parentheses, may hold spaces: count fields after it. utime
	// and stime are fields 14 and 15, the 12th and 13th after the name.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, stat)
	}
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return u, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		u.cpu += time.Duration(n) * clockTick
	}
	return u, nil
}

// TestServeIdle starts the real `guichet serve` (SQLite, spool, no relay: mail is
// written under <data-dir>/sent), lets it settle, then checks over 10 s that, with no
// traffic, it writes less than 64 KiB and uses less than 0.2 s of CPU; then that a mail
// still gets its confirmation at once. The process's own CPU time is measured, which
// other work on a busy machine hardly changes.
func TestServeIdle(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/<pid>/io and /proc/<pid>/stat: Linux only")
	}
	if testing.Short() {
		t.Skip("builds guichet and watches it idle for 10 s")
	}
	bin := buildGuichet(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	in := startOnData(t, bin, "idle", dataDir, []string{"--log-level", "info"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := in.waitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	pid := in.cmd.Process.Pid

	// Start-up (migrations, the first WAL checkpoint) writes; then nothing should.
	time.Sleep(3 * time.Second)
	before, err := readUsage(pid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(idleWindow)
	after, err := readUsage(pid)
	if err != nil {
		t.Fatal(err)
	}
	wchar, written := after.wchar-before.wchar, after.writeBytes-before.writeBytes
	cpu := after.cpu - before.cpu
	t.Logf("idle for %s: wchar %d B in %d write calls, write_bytes %d B, CPU %s",
		idleWindow, wchar, after.syscw-before.syscw, written, cpu)
	if wchar >= idleMaxWrite || written >= idleMaxWrite {
		t.Errorf("idle serve wrote %d B (write_bytes %d B) in %s; want < %d", wchar, written, idleWindow, idleMaxWrite)
	}
	if cpu >= idleMaxCPU {
		t.Errorf("idle serve used %s of CPU in %s; want < %s", cpu, idleWindow, idleMaxCPU)
	}

	// Still awake: a mail's confirmation is written at once. (The outbox sender also
	// looks every 2 s by itself; mailout's TestWorkerIdleClaimsBounded checks that the
	// wake-up, not that poll, sends it.)
	c, err := dial(in.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := makeMail("idle"+randHex(4), 1)
	sentAt := time.Now()
	if err := send(c, "support@localhost", m); err != nil {
		t.Fatalf("send: %v", err)
	}
	sentDir := filepath.Join(dataDir, "sent")
	for {
		if conf := confirmationTo(sentDir, m.from); conf != "" {
			t.Logf("confirmation %s written %s after the 250", conf, time.Since(sentAt).Round(time.Millisecond))
			break
		}
		if time.Since(sentAt) > 5*time.Second {
			t.Fatalf("no confirmation to %s in %s within 5 s of the 250\n%s", m.from, sentDir, in.logTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// confirmationTo returns the name of a mail in dir delivered to rcpt, or "".
func confirmationTo(dir, rcpt string) string {
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && bytes.Contains(b, []byte("Delivered-To: "+rcpt+"\r\n")) {
			return e.Name()
		}
	}
	return ""
}
