package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseConfFile(t *testing.T) {
	known := fileSettings()
	type kv struct{ name, value string }
	cases := []struct {
		name    string
		in      string
		want    []kv
		wantErr string // a part of the error; "" for none
	}{
		{name: "comments, blanks, spaces, quotes",
			in: "# Guichet\n\n   # indented comment\nsupport-address = support@support.example.org\n" +
				"desk = \"AURAN1=Assistance ENT\"\n\tpublic-url=https://support.example.org  \n" +
				"relay = smtp://guichet:p#ss\"w@127.0.0.1:25\nauthserv-id = \"\"\n--lmtp = true\n",
			want: []kv{{"support-address", "support@support.example.org"}, {"desk", "AURAN1=Assistance ENT"},
				{"public-url", "https://support.example.org"}, {"relay", `smtp://guichet:p#ss"w@127.0.0.1:25`},
				{"authserv-id", ""}, {"lmtp", "true"}}},
		{name: "repeatable imap", in: "imap = imaps://a:x@h/INBOX\nimap = imaps://b:y@h/INBOX\n",
			want: []kv{{"imap", "imaps://a:x@h/INBOX"}, {"imap", "imaps://b:y@h/INBOX"}}},
		{name: "a setting of serve only", in: "smtp-session-max = 10m\n", want: []kv{{"smtp-session-max", "10m"}}},
		{name: "CRLF file", in: "# c\r\nsupport-address = s@x.org\r\n\r\ndesk = \"K=N\"\r\n",
			want: []kv{{"support-address", "s@x.org"}, {"desk", "K=N"}}},
		{name: "BOM and no final newline", in: "\xef\xbb\xbfdata-dir = /var/lib/guichet", want: []kv{{"data-dir", "/var/lib/guichet"}}},
		{name: "empty file", in: "", want: nil},
		{name: "longest line", in: "desk = K=" + strings.Repeat("n", maxConfLine-len("desk = K=")) + "\r\n",
			want: []kv{{"desk", "K=" + strings.Repeat("n", maxConfLine-len("desk = K="))}}},
		{name: "comment after a quoted value", in: "desk = \"K=N\" # the desk\n", wantErr: "test.conf:1: desk: unterminated double quote"},
		{name: "unknown name", in: "# x\nsupport-adress = s@x.org\n", wantErr: `test.conf:2: unknown setting "support-adress"`},
		{name: "malformed line", in: "support-address = s@x.org\njust words\n", wantErr: "test.conf:2: name = value expected"},
		{name: "no name", in: " = value\n", wantErr: "test.conf:1: name = value expected"},
		{name: "unterminated quote", in: "desk = \"K=N\n", wantErr: "test.conf:1: desk: unterminated double quote"},
		{name: "lone quote", in: "desk = \"\n", wantErr: "test.conf:1: desk: unterminated double quote"},
		{name: "per-invocation option", in: "json = true\n", wantErr: `test.conf:1: "json" is an option of one command`},
		{name: "sender is not a setting", in: "sender = a@b\n", wantErr: `test.conf:1: "sender" is an option`},
		{name: "twice", in: "support-address = a@x.org\n\nsupport-address = b@x.org\n", wantErr: "test.conf:3: support-address already set on line 1"},
		{name: "NUL byte", in: "support-address = a@x.org\ndesk = K=N\x00\n", wantErr: "test.conf:2: NUL byte"},
		{name: "very long line", in: "# ok\ndesk = K=" + strings.Repeat("n", maxConfLine+10) + "\n", wantErr: "test.conf:2: line longer than"},
		{name: "very long line without newline", in: "desk = K=" + strings.Repeat("n", 3*maxConfLine), wantErr: "test.conf:1: line longer than"},
		{name: "binary", in: "\x7fELF\x02\x01\x01\x00\x00", wantErr: "test.conf:1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cf, err := parseConfFile("test.conf", strings.NewReader(tc.in), known)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []kv
			for _, s := range cf.settings {
				got = append(got, kv{s.name, s.value})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("settings %q, want %q", got, tc.want)
			}
		})
	}
}

// writeConf writes a configuration file with mode perm and returns its path.
func writeConf(t *testing.T, perm os.FileMode, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "guichet.conf")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return p
}

func TestConfigPrecedence(t *testing.T) {
	conf := writeConf(t, 0o640,
		"support-address = file@file.example.org",
		"http-addr = 127.0.0.1:9999",
		"public-url = https://file.example.org",
		"desk = FILE=Depuis le fichier",
		"imap = imaps://f:x@file.example.org/INBOX",
		"imap = imaps://g:y@file.example.org/INBOX",
		"smtp-session-max = 7m")
	env := map[string]string{
		"GUICHET_CONFIG":          conf,
		"GUICHET_PUBLIC_URL":      "https://env.example.org",
		"GUICHET_SUPPORT_ADDRESS": "env@env.example.org",
	}
	sio := IO{Getenv: func(k string) string { return env[k] }, Stderr: &bytes.Buffer{}}
	cfg, _, loaded, err := settings("serve", []string{"--support-address", "flag@flag.example.org"}, sio)
	if err != nil {
		t.Fatal(err)
	}
	if loaded == nil || loaded.file.path != conf {
		t.Fatalf("GUICHET_CONFIG not read: %+v", loaded)
	}
	for _, c := range []struct{ what, got, want string }{
		{"flag over env and file", cfg.SupportAddress, "flag@flag.example.org"},
		{"env over file", cfg.PublicURL, "https://env.example.org"},
		{"file over default", cfg.HTTPAddr, "127.0.0.1:9999"},
		{"file over default", cfg.Desk, "FILE=Depuis le fichier"},
		{"default when nowhere", cfg.SMTPAddr, "127.0.0.1:2525"},
		{"repeatable from the file", strings.Join(cfg.IMAP, " "), "imaps://f:x@file.example.org/INBOX imaps://g:y@file.example.org/INBOX"},
		{"serve's own setting", cfg.SMTPSessionMax.String(), "7m0s"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
		}
	}
	// The environment's imap replaces the file's list; the command line replaces both.
	env["GUICHET_IMAP"] = "imaps://e:z@env.example.org/INBOX"
	cfg, _, _, err = settings("serve", nil, sio)
	if err != nil || strings.Join(cfg.IMAP, " ") != "imaps://e:z@env.example.org/INBOX" {
		t.Fatalf("env imap: %q %v", cfg.IMAP, err)
	}
	cfg, _, _, err = settings("serve", []string{"--imap", "imaps://c:w@cli.example.org/INBOX"}, sio)
	if err != nil || strings.Join(cfg.IMAP, " ") != "imaps://c:w@cli.example.org/INBOX" {
		t.Fatalf("flag imap: %q %v", cfg.IMAP, err)
	}
	// --config on the command line wins over GUICHET_CONFIG.
	other := writeConf(t, 0o600, "http-addr = 127.0.0.1:7777")
	cfg, _, _, err = settings("ticket list", []string{"--config", other}, sio)
	if err != nil || cfg.HTTPAddr != "127.0.0.1:7777" {
		t.Fatalf("--config over GUICHET_CONFIG: %q %v", cfg.HTTPAddr, err)
	}
	// A bad value in the file names its file and line.
	bad := writeConf(t, 0o600, "# x", "max-message-size = lots")
	_, _, _, err = settings("serve", []string{"--config", bad}, IO{Getenv: func(string) string { return "" }, Stderr: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), bad+":2: max-message-size") {
		t.Fatalf("bad value: %v", err)
	}
}

func TestConfigDefaultPath(t *testing.T) {
	none := func(string) string { return "" }
	def := writeConf(t, 0o640, "support-address = support@default.example.org")
	cfg, _, loaded, err := settings("ticket list", nil, IO{Getenv: none, DefaultConfig: def, Stderr: &bytes.Buffer{}})
	if err != nil || loaded == nil || cfg.SupportAddress != "support@default.example.org" {
		t.Fatalf("default file not read: %q %v", cfg.SupportAddress, err)
	}
	// A missing default file is no error: built-in defaults apply.
	cfg, _, loaded, err = settings("ticket list", nil, IO{Getenv: none, DefaultConfig: filepath.Join(t.TempDir(), "absent.conf"), Stderr: &bytes.Buffer{}})
	if err != nil || loaded != nil || cfg.SupportAddress != "support@localhost" {
		t.Fatalf("missing default file: %q %+v %v", cfg.SupportAddress, loaded, err)
	}
	// A file named explicitly must exist.
	_, _, _, err = settings("ticket list", []string{"--config", filepath.Join(t.TempDir(), "absent.conf")}, IO{Getenv: none, DefaultConfig: def, Stderr: &bytes.Buffer{}})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing --config file: %v", err)
	}
	// --config= (empty) reads none, not even the default.
	cfg, _, loaded, err = settings("ticket list", []string{"--config="}, IO{Getenv: none, DefaultConfig: def, Stderr: &bytes.Buffer{}})
	if err != nil || loaded != nil || cfg.SupportAddress != "support@localhost" {
		t.Fatalf("--config= : %q %+v %v", cfg.SupportAddress, loaded, err)
	}
	// A folder is refused.
	_, _, _, err = settings("ticket list", []string{"--config", t.TempDir()}, IO{Getenv: none, Stderr: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "a folder") {
		t.Fatalf("folder as --config: %v", err)
	}
}

func TestConfigErrorsExit(t *testing.T) {
	bad := writeConf(t, 0o640, "# Guichet", "support-address = s@x.org", "no-such-flag = 1")
	run1 := func(stdin string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, nil)
		return code, errb.String()
	}
	code, errs := run1("", "ticket", "list", "--config", bad)
	if code != exitUsage || !strings.Contains(errs, bad+`:3: unknown setting "no-such-flag"`) {
		t.Fatalf("ticket list with a bad file: %d %s", code, errs)
	}
	// ingest: the MTA keeps the mail (75) while the administrator fixes the file.
	code, errs = run1("Subject: x\r\n\r\nx\r\n", "ingest", "--config", bad)
	if code != exitTempFail || !strings.Contains(errs, bad+":3:") {
		t.Fatalf("ingest with a bad file: %d %s", code, errs)
	}
}

func TestConfigWorldReadableWarns(t *testing.T) {
	for _, tc := range []struct {
		perm os.FileMode
		warn bool
	}{{0o644, true}, {0o640, false}, {0o600, false}} {
		conf := writeConf(t, tc.perm, "relay = smtp://u:secret@127.0.0.1:25")
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"version", "--config", conf}, IO{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, nil); code != 0 {
			t.Fatalf("version: %d %s", code, errb.String())
		}
		if got := strings.Contains(errb.String(), "readable by every user"); got != tc.warn {
			t.Errorf("mode %04o: warning %v, want %v: %s", tc.perm, got, tc.warn, errb.String())
		}
		if strings.Contains(errb.String(), "secret") {
			t.Errorf("the warning shows the password: %s", errb.String())
		}
	}
}

// deploy/guichet.conf.example is read as it stands, and shows every setting that
// deploy/env.example shows (the file replaces it).
func TestDeployConfExample(t *testing.T) {
	example := filepath.Join("..", "..", "deploy", "guichet.conf.example")
	cfg, _, loaded, err := settings("serve", []string{"--config", example}, IO{Getenv: func(string) string { return "" }, Stderr: &bytes.Buffer{}})
	if err != nil || loaded == nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if cfg.SupportAddress != "support@support.example.org" || cfg.PublicURL != "https://support.example.org" || !cfg.LMTP || cfg.Desk != "AURAN1=Assistance ENT" {
		t.Fatalf("the example's settings: %+v", cfg.redacted())
	}
	conf, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	envEx, err := os.ReadFile(filepath.Join("..", "..", "deploy", "env.example"))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{} // names in the example, set or commented out
	for _, l := range strings.Split(string(conf), "\n") {
		if name, _, ok := strings.Cut(strings.TrimPrefix(l, "#"), " = "); ok && !strings.Contains(name, " ") {
			shown[name] = true
		}
	}
	n := 0
	for _, l := range strings.Split(string(envEx), "\n") {
		v, _, ok := strings.Cut(strings.TrimPrefix(l, "#"), "=")
		if !ok || !strings.HasPrefix(v, "GUICHET_") {
			continue
		}
		n++
		name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(v, "GUICHET_")), "_", "-")
		if !shown[name] {
			t.Errorf("env.example sets %s; guichet.conf.example has no %s", v, name)
		}
	}
	if n < 10 {
		t.Fatalf("only %d variables found in env.example", n)
	}
}
