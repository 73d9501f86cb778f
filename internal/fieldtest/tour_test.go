package fieldtest

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SnipTour is the README's five-minute tour, run as written by TestReadmeTour.
const SnipTour = "tour"

// TestReadmeTour runs the README's "A five-minute tour" block with bash in an empty
// folder, as a newcomer would paste it, and checks what its comments promise: the
// ticket in the list, its JSON, the confirmation and the agent's notification in
// guichet-data/sent/, then the paragraph after it (a token, the JSON API). Two changes
// only: the build line builds this checkout from the test's folder, and after the line
// that starts serve in the background the script waits until SMTP answers (a person
// typing the next line gives it that time). It needs bash, curl with SMTP and the
// tour's ports (2525, 8080) free; it skips otherwise.
func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the README tour builds and runs guichet")
	}
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the README tour uses it", tool)
		}
	}
	if out, err := exec.Command("curl", "--version").Output(); err != nil || !bytes.Contains(out, []byte(" smtp")) {
		t.Skip("this curl has no SMTP support: the README tour sends its mail with curl")
	}
	for _, addr := range []string{"127.0.0.1:2525", "127.0.0.1:8080"} {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			t.Skipf("%s is in use on this machine: the README tour needs it", addr)
		}
	}
	root := repoRoot(t)
	snip, err := ExtractFile(filepath.Join(root, "README.md"), SnipTour)
	if err != nil {
		t.Fatal(err)
	}
	script, err := tourScript(snip[SnipTour], root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute) // the build included
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// serve stays behind in the script's process group: end the whole group.
	t.Cleanup(func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			time.Sleep(500 * time.Millisecond)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	// Files, not pipes: serve, left running by the script, keeps its copies open.
	outF, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	runErr := cmd.Run()
	out, _ := os.ReadFile(outF.Name())
	if runErr != nil {
		errb, _ := os.ReadFile(errF.Name())
		t.Fatalf("the tour failed: %v\nstdout:\n%s\nstderr:\n%s", runErr, out, errb)
	}
	stdout := string(out)
	t.Logf("tour output:\n%s", stdout)

	// "./guichet ticket list   # AURAN1-1  Nouveau  jeanne@ecole.test  …  Imprimante en panne"
	if !regexp.MustCompile(`(?m)^AURAN1-1\s+Nouveau\s+.*jeanne@ecole\.test.*Imprimante en panne`).MatchString(stdout) {
		t.Errorf("ticket list does not show what the README's comment says (AURAN1-1 Nouveau jeanne@ecole.test … Imprimante en panne)")
	}
	// "./guichet ticket show AURAN1-1 --json"
	var shown struct {
		Key     string `json:"key"`
		Summary string `json:"summary"`
	}
	if i := strings.Index(stdout, "{"); i < 0 {
		t.Errorf("ticket show --json printed no JSON")
	} else if err := json.NewDecoder(strings.NewReader(stdout[i:])).Decode(&shown); err != nil {
		t.Errorf("ticket show --json: %v", err)
	} else if shown.Key != "AURAN1-1" || shown.Summary != "Imprimante en panne" {
		t.Errorf("ticket show --json: key %q summary %q", shown.Key, shown.Summary)
	}
	// "ls guichet-data/sent/   # the confirmation to Jeanne and the notification to Alice"
	sent := waitSent(t, filepath.Join(dir, "guichet-data", "sent"), 2)
	var toJeanne, toAlice bool
	for _, m := range sent {
		head, _, _ := bytes.Cut(m, []byte("\r\n\r\n"))
		h := string(head)
		if strings.Contains(h, "jeanne@ecole.test") && strings.Contains(h, "[#AURAN1-1]") {
			toJeanne = true
			if !bytes.Contains(m, []byte("Nous avons bien re")) {
				t.Errorf("the confirmation does not say what the README says (Nous avons bien reçu votre requête…)")
			}
			if !regexp.MustCompile(`support\+auran1-1\.[^@\s]+@localhost`).MatchString(h) {
				t.Errorf("the confirmation's Reply-To is not the signed address the README shows:\n%s", h)
			}
		}
		if strings.Contains(h, "alice@ecole.test") {
			toAlice = true
		}
	}
	if !toJeanne || !toAlice {
		t.Errorf("guichet-data/sent/: confirmation to Jeanne %v, notification to Alice %v", toJeanne, toAlice)
	}

	// The paragraph after the block: a token, then the JSON API with it.
	tokCmd := exec.CommandContext(ctx, "./guichet", "token", "create", "alice@ecole.test")
	tokCmd.Dir = dir
	tok, err := tokCmd.CombinedOutput()
	if err != nil {
		t.Fatalf("guichet token create: %v\n%s", err, tok)
	}
	token := regexp.MustCompile(`gch_[A-Za-z0-9_-]+`).FindString(string(tok))
	if token == "" {
		t.Fatalf("guichet token create printed no gch_ token: %q", tok)
	}
	cmd2 := exec.CommandContext(ctx, "curl", "-s", "-f", "-H", "Authorization: Bearer "+token, "http://127.0.0.1:8080/api/v1/tickets/AURAN1-1")
	cmd2.Dir = dir
	api, err := cmd2.Output()
	if err != nil {
		t.Fatalf("the README's API curl: %v", err)
	}
	if !bytes.Contains(api, []byte(`"AURAN1-1"`)) {
		t.Errorf("the API answered without the ticket: %s", api)
	}
	// "open http://127.0.0.1:8080/, sign in as alice@ecole.test": the sign-in page.
	home, err := exec.CommandContext(ctx, "curl", "-s", "-f", "-L", "http://127.0.0.1:8080/").Output()
	if err != nil || !bytes.Contains(home, []byte("<html")) || !bytes.Contains(home, []byte(`type="password"`)) {
		t.Errorf("http://127.0.0.1:8080/ (the README's next step) does not lead to a sign-in page: %v\n%s", err, home)
	}
}

// tourScript makes the tour runnable from a folder outside the checkout: the build line
// builds root's cmd/guichet, and after "./guichet serve &" the script waits for SMTP.
func tourScript(tour, root string) (string, error) {
	var b strings.Builder
	built, served := false, false
	for _, l := range strings.Split(tour, "\n") {
		code := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(code, "go build -o guichet ./cmd/guichet"):
			b.WriteString("go -C " + shellQuote(root) + " build -o \"$PWD/guichet\" ./cmd/guichet\n")
			built = true
			continue
		case strings.HasPrefix(code, "./guichet serve") && strings.HasSuffix(code, "&"):
			b.WriteString(l + "\n")
			b.WriteString("for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break; sleep 0.1; done\n")
			served = true
			continue
		}
		b.WriteString(l + "\n")
	}
	if !built || !served {
		return "", errTour
	}
	return b.String(), nil
}

var errTour = tourError("the README tour no longer has the lines the test adapts (go build -o guichet ./cmd/guichet; ./guichet serve &)")

type tourError string

func (e tourError) Error() string { return string(e) }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// waitSent waits until dir holds n .eml files and returns their contents.
func waitSent(t *testing.T, dir string, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) >= n || time.Now().After(deadline) {
			var out [][]byte
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, b)
			}
			if len(out) < n {
				t.Fatalf("%s holds %d mail after 20 s, the README says %d", dir, len(out), n)
			}
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}
