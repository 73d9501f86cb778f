package main

import (
	"testing"
	"time"

	"github.com/guichet/guichet/mailin"
)

// The SMTP limits have flags and GUICHET_* variables; 0 turns a limit off, a negative
// value is refused.
func TestSMTPLimitFlags(t *testing.T) {
	parse := parseServe
	c, err := parse(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPSessionMax != mailin.DefaultMaxSessionTime || c.SMTPJunkCommandLimit != mailin.DefaultMaxJunkCommands ||
		c.SMTPErrorLimit != mailin.DefaultMaxErrors || c.SMTPMaxConnections != mailin.DefaultMaxConnections ||
		c.SMTPMaxConnsPerIP != mailin.DefaultMaxConnectionsPerIP {
		t.Fatalf("defaults %+v", c)
	}
	c, err = parse([]string{"--smtp-session-max", "10m", "--smtp-max-connections-per-ip", "0"},
		map[string]string{"GUICHET_SMTP_JUNK_COMMAND_LIMIT": "7", "GUICHET_SMTP_ERROR_LIMIT": "3", "GUICHET_SMTP_MAX_CONNECTIONS": "9"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPSessionMax != 10*time.Minute || c.SMTPJunkCommandLimit != 7 || c.SMTPErrorLimit != 3 ||
		c.SMTPMaxConnections != 9 || c.SMTPMaxConnsPerIP != 0 {
		t.Fatalf("parsed %+v", c)
	}
	if orNoLimit(c.SMTPMaxConnsPerIP) >= 0 || orNoLimit(c.SMTPMaxConnections) != 9 || orNoLimit(time.Duration(0)) >= 0 {
		t.Fatal("0 must become mailin's negative 'no limit'")
	}
	if _, err := parse([]string{"--smtp-error-limit", "-1"}, nil); err == nil {
		t.Fatal("negative limit accepted")
	}
}

// parseServe reads serve's flags from args and env (GUICHET_* names) and validates them.
func parseServe(args []string, env map[string]string) (*Config, error) {
	var c Config
	fs := c.flags("serve")
	if _, err := parseArgs(fs, args, func(k string) string { return env[k] }); err != nil {
		return nil, err
	}
	return &c, c.Validate()
}
