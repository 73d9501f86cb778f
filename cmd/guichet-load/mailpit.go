package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// findMailpit returns the Mailpit binary to measure: flagged, else `mailpit` on PATH,
// else in Go's bin folder (where `go install` puts it); "" when there is none.
func findMailpit(flagged string) string {
	if flagged != "" {
		return flagged
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		if gp := os.Getenv("GOPATH"); gp != "" {
			gobin = filepath.Join(filepath.SplitList(gp)[0], "bin")
		} else if home, err := os.UserHomeDir(); err == nil {
			gobin = filepath.Join(home, "go", "bin")
		}
	}
	if p := filepath.Join(gobin, "mailpit"); gobin != "" && isExecutable(p) {
		return p
	}
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// mailpit is a Mailpit server started for one run, on loopback, its SQLite database in a
// folder of its own.
type mailpit struct {
	*child
	smtpAddr, httpAddr string
}

// startMailpit starts bin storing into dir/mailpit.db with no limit on the count of
// messages (its default keeps 500), and waits until its SMTP port answers.
func startMailpit(ctx context.Context, bin, dir string) (*mailpit, error) {
	smtpAddr, err1 := freeAddr()
	httpAddr, err2 := freeAddr()
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("mailpit: no free port: %v %v", err1, err2)
	}
	ch, _, err := startChild("mailpit", bin, false, "--smtp", smtpAddr, "--listen", httpAddr,
		"--database", filepath.Join(dir, "mailpit.db"), "--max", "0", "--max-message-size", "0",
		"--smtp-disable-rdns", "--disable-version-check", "--quiet")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-ch.done:
			return nil, fmt.Errorf("mailpit exited: %v\n%s", ch.err, ch.out)
		default:
		}
		if c, err := net.DialTimeout("tcp", smtpAddr, time.Second); err == nil {
			c.Close()
			return &mailpit{child: ch, smtpAddr: smtpAddr, httpAddr: httpAddr}, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			ch.stop()
			return nil, fmt.Errorf("mailpit not listening within 15 s\n%s", ch.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stored returns the count of messages Mailpit holds, from its API.
func (m *mailpit) stored(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.httpAddr+"/api/v1/messages?limit=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("mailpit: count messages: %w", err)
	}
	defer resp.Body.Close()
	var v struct {
		Total int `json:"total"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("mailpit: count messages: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, fmt.Errorf("mailpit: count messages: %w", err)
	}
	return v.Total, nil
}
