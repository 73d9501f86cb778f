package multitest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// instance is one `guichet serve` child process with its own ports and data folder.
type instance struct {
	name     string
	smtpAddr string
	httpAddr string
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{}
	err      error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startInstance starts bin serve on a data folder of its own with its own ports; see
// startServe.
func startInstance(t *testing.T, bin, name string, args []string) *instance {
	t.Helper()
	return startServe(t, bin, name, filepath.Join(t.TempDir(), "data"), os.Environ(), args)
}

// startServe starts bin serve on dataDir (which may outlive it, for a restart) with its
// own ports and the environment env, logging to a file beside dataDir. It is stopped
// (SIGTERM, then SIGKILL) at the end of the test if still running.
func startServe(t *testing.T, bin, name, dataDir string, env, args []string) *instance {
	t.Helper()
	in := &instance{name: name, smtpAddr: freeAddr(t), httpAddr: freeAddr(t),
		logPath: filepath.Join(filepath.Dir(dataDir), name+".log"), done: make(chan struct{})}
	logf, err := os.Create(in.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"serve", "--data-dir", dataDir,
		"--smtp-addr", in.smtpAddr, "--http-addr", in.httpAddr}, args...)
	in.cmd = exec.Command(bin, args...)
	in.cmd.Stdout, in.cmd.Stderr = logf, logf
	in.cmd.Env = append(env, "GUICHET_LOG_FORMAT=text")
	// Dies with the test binary, even when that is killed.
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := in.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		in.err = in.cmd.Wait()
		logf.Close()
		close(in.done)
	}()
	t.Cleanup(func() {
		select {
		case <-in.done:
		default:
			in.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-in.done:
			case <-time.After(20 * time.Second):
				in.cmd.Process.Kill()
				<-in.done
				t.Errorf("instance %s did not stop within 20 s of SIGTERM", name)
			}
		}
		if t.Failed() {
			t.Logf("instance %s log (tail):\n%s", name, in.logTail(40))
		}
	})
	return in
}

// kill sends SIGKILL and waits for the process to be gone.
func (in *instance) kill() {
	in.cmd.Process.Kill()
	<-in.done
}

// waitHealthy waits until /healthz answers 200 (database and Redis up).
func (in *instance) waitHealthy(ctx context.Context) error {
	for {
		select {
		case <-in.done:
			return fmt.Errorf("instance %s exited: %v\n%s", in.name, in.err, in.logTail(30))
		case <-ctx.Done():
			return fmt.Errorf("instance %s not healthy in time\n%s", in.name, in.logTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + in.httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// logTail returns the last n lines of the instance's log.
func (in *instance) logTail(n int) string {
	b, _ := os.ReadFile(in.logPath)
	lines := strings.Split(string(bytes.TrimSpace(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// logLines counts the lines of the instance's log that contain s.
func (in *instance) logLines(s string) int {
	b, _ := os.ReadFile(in.logPath)
	return bytes.Count(b, []byte(s))
}
