package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process started by the load command; its output is kept (the tail of it)
// for error reports.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{}
	err  error
}

// startChild starts bin with args. When ready is set, the child must print a line
// "listening ADDR" on stdout first, and startChild returns that address.
func startChild(name, bin string, ready bool, args ...string) (*child, string, error) {
	return startChildLines(name, bin, ready, nil, args...)
}

// startChildLines is startChild, with the child's stdout lines for which onLine returns
// true taken away from the kept output.
func startChildLines(name, bin string, ready bool, onLine func(string) bool, args ...string) (*child, string, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), out: &tail{max: 64 << 10}, done: make(chan struct{})}
	// Die with us, even on SIGKILL; in a group of its own, so that a terminal's Ctrl-C
	// reaches us only and we stop the children in order.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	c.cmd.Stderr = c.out
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "listening "); ok {
				select {
				case addrc <- a:
				default:
				}
			}
			if onLine != nil && onLine(line) {
				continue
			}
			c.out.Write([]byte(line + "\n"))
		}
		io.Copy(io.Discard, stdout)
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	if !ready {
		return c, "", nil
	}
	select {
	case a := <-addrc:
		return c, a, nil
	case <-c.done:
		return nil, "", fmt.Errorf("%s exited before listening: %v\n%s", name, c.err, c.out)
	case <-time.After(10 * time.Second):
		c.stop()
		return nil, "", fmt.Errorf("%s did not listen within 10 s\n%s", name, c.out)
	}
}

// stop sends SIGTERM, then SIGKILL after 15 s, and waits for the exit.
func (c *child) stop() error {
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return c.err
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within 15 s; killed", c.name)
	}
	var ee *exec.ExitError
	if errors.As(c.err, &ee) && ee.Exited() && ee.ExitCode() != 0 {
		return fmt.Errorf("%s exited with %d\n%s", c.name, ee.ExitCode(), c.out)
	}
	return nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// peakRSS returns the child's peak resident set size (VmHWM) in bytes, 0 if unknown.
func (c *child) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid()))
	if err != nil {
		return 0
	}
	n, _ := parseVmHWM(b)
	return n
}

// cpuTime returns the CPU time (user and system) the child has used so far, 0 if unknown.
func (c *child) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.pid()))
	if err != nil {
		return 0
	}
	d, _ := parseStatCPU(b)
	return d
}

// parseVmHWM reads the peak resident set size, in bytes, from the text of
// /proc/PID/status.
func parseVmHWM(status []byte) (int64, error) {
	for line := range strings.SplitSeq(string(status), "\n") {
		v, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(strings.TrimSpace(v), " kB")
		kb, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if !ok || err != nil || kb < 0 {
			return 0, fmt.Errorf("/proc status: unreadable VmHWM %q", strings.TrimSpace(v))
		}
		return kb << 10, nil
	}
	return 0, errors.New("/proc status: no VmHWM line")
}

// parseStatCPU reads the CPU time (utime + stime) from the text of /proc/PID/stat.
func parseStatCPU(stat []byte) (time.Duration, error) {
	// the fields after the command name, which is in parentheses and may hold spaces
	// and parentheses itself
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the name, 13 at least expected", len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 63)
	stime, err2 := strconv.ParseUint(f[12], 10, 63)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc stat: utime, stime: %w", err)
	}
	if utime > 1<<36 || stime > 1<<36 { // 20 years of ticks: not a time, and it would overflow
		return 0, errors.New("/proc stat: utime, stime out of range")
	}
	return time.Duration(utime+stime) * (time.Second / clockTicks), nil
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ), 100 on Linux.
const clockTicks = 100

// selfCPU returns the CPU time this process (the client side of the load) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tail keeps the last max bytes written to it, and counts the log lines at level ERROR
// (slog's text or JSON format), keeping the first.
type tail struct {
	mu       sync.Mutex
	max      int
	b        []byte
	errors   int
	firstErr string
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for line := range strings.SplitSeq(string(p), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, `"level":"ERROR"`) {
			if t.errors == 0 {
				t.firstErr = line
			}
			t.errors++
		}
	}
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

// errorLines returns the count of ERROR lines and the first one.
func (t *tail) errorLines() (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.errors, t.firstErr
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
