package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// defaultConfigPath is the configuration file read when neither --config nor
// GUICHET_CONFIG names one and it exists: an MTA's pipe runs `guichet ingest` with no
// environment, so the settings `serve` uses must be found without it.
const defaultConfigPath = "/etc/guichet/guichet.conf"

// maxConfLine bounds one line of the configuration file: a setting is a flag's value,
// not a document; a longer line is a mistake (or not a configuration file at all).
const maxConfLine = 64 << 10

// confSetting is one `name = value` line of the configuration file.
type confSetting struct {
	name, value string
	line        int
}

// confFile is a parsed configuration file.
type confFile struct {
	path     string
	settings []confSetting
}

// perInvocation are flags that say what one command does, not how Guichet is set up:
// they have no place in the shared file (a `json = true` there would change every
// script's output).
var perInvocation = map[string]bool{
	"config": true, "json": true, "name": true, "role": true, "uai": true, "academie": true,
	"lang": true, "password-stdin": true, "failed": true, "limit": true, "page": true,
	"no-send": true, "sender": true, "recipient": true,
}

// repeatable are the settings that may appear on several lines, each adding a value.
var repeatable = map[string]bool{"imap": true}

// fileSettings returns the names the configuration file may set: every flag of every
// command but the per-invocation ones. A setting of `serve` only (smtp-session-max…)
// is thus accepted, and ignored, when `guichet ticket list` reads the same file.
func fileSettings() map[string]bool {
	known := map[string]bool{}
	for name := range commands {
		var c Config
		c.flags(name).VisitAll(func(f *flag.Flag) {
			if !perInvocation[f.Name] {
				known[f.Name] = true
			}
		})
	}
	return known
}

// parseConfFile reads the configuration file format: one `name = value` per line, name a
// flag's long name without dashes, blank lines and lines starting with # ignored (a #
// elsewhere is part of the value: passwords may hold one), a value in double quotes
// taken as is between them (no escapes), CRLF line ends accepted. Errors name the file
// and line.
func parseConfFile(path string, r io.Reader, known map[string]bool) (*confFile, error) {
	cf := &confFile{path: path}
	br := bufio.NewReaderSize(r, 4096)
	first := map[string]int{}
	for n := 1; ; n++ {
		line, err := readConfLine(br)
		if errors.Is(err, io.EOF) && line == nil {
			return cf, nil
		}
		if errors.Is(err, errLongLine) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", path, n, maxConfLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: read: %w", path, err)
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a BOM some editors write
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("%s:%d: NUL byte: not a text file", path, n)
		}
		text := strings.TrimSpace(string(line))
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, value, ok := strings.Cut(text, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("%s:%d: name = value expected", path, n)
		}
		name = strings.TrimPrefix(name, "--")
		if strings.HasPrefix(value, `"`) {
			if len(value) < 2 || !strings.HasSuffix(value, `"`) {
				return nil, fmt.Errorf("%s:%d: %s: unterminated double quote (nothing may follow the closing one, not even a comment)", path, n, name)
			}
			value = value[1 : len(value)-1]
		}
		switch {
		case perInvocation[name]:
			return nil, fmt.Errorf("%s:%d: %q is an option of one command, not a setting of the file", path, n, name)
		case !known[name]:
			return nil, fmt.Errorf("%s:%d: unknown setting %q (a flag's long name expected, e.g. support-address)", path, n, name)
		}
		if prev, dup := first[name]; dup && !repeatable[name] {
			return nil, fmt.Errorf("%s:%d: %s already set on line %d", path, n, name, prev)
		}
		first[name] = n
		cf.settings = append(cf.settings, confSetting{name: name, value: value, line: n})
		if errors.Is(err, io.EOF) {
			return cf, nil
		}
	}
}

var errLongLine = errors.New("line too long")

// readConfLine returns the next line without its LF (and CR), io.EOF with the last line
// when it has no LF, errLongLine past maxConfLine bytes.
func readConfLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxConfLine+2 {
			return nil, errLongLine
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if len(line) == 0 {
				return nil, err
			}
			return bytes.TrimSuffix(line, []byte("\r")), err
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
		if len(line) > maxConfLine {
			return nil, errLongLine
		}
		return line, nil
	}
}

// loadConfFile opens the configuration file the command should read: --config or
// GUICHET_CONFIG (already in c.ConfigFile; given empty, none), else defaultPath when it
// exists. It returns nil when there is none to read.
func loadConfFile(flags *flag.FlagSet, c *Config, getenv func(string) string, defaultPath string) (*confFile, os.FileInfo, error) {
	path := c.ConfigFile
	named := false
	flags.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			named = true
		}
	})
	if getenv("GUICHET_CONFIG") != "" {
		named = true
	}
	if !named {
		if defaultPath == "" {
			return nil, nil, nil
		}
		path = defaultPath
	}
	if path == "" {
		return nil, nil, nil
	}
	f, err := os.Open(path)
	if !named && errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("configuration file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("configuration file: %w", err)
	}
	if fi.IsDir() {
		return nil, nil, fmt.Errorf("configuration file %s: a folder, not a file", path)
	}
	cf, err := parseConfFile(path, f, fileSettings())
	if err != nil {
		return nil, nil, err
	}
	return cf, fi, nil
}

// applyConfFile sets, from the file, the flags of fs that neither the command line nor a
// GUICHET_* variable set: command line > environment > file > built-in default. A
// setting for flags this command does not have (serve's, on `ticket list`) is skipped.
func applyConfFile(fs *flag.FlagSet, cf *confFile, getenv func(string) string) error {
	if cf == nil {
		return nil
	}
	onCmdLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCmdLine[f.Name] = true })
	for _, s := range cf.settings {
		f := fs.Lookup(s.name)
		if f == nil || onCmdLine[s.name] || getenv(envName(s.name)) != "" {
			continue
		}
		if err := f.Value.Set(s.value); err != nil {
			return fmt.Errorf("%s:%d: %s = %q: %w", cf.path, s.line, s.name, s.value, err)
		}
	}
	return nil
}

// envName is the GUICHET_* variable of a flag.
func envName(flagName string) string {
	return "GUICHET_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// warnConfMode warns when the configuration file can be read by every user of the
// machine: it may hold the relay's and the mailboxes' passwords.
func warnConfMode(log *slog.Logger, conf *loadedConf) {
	if conf == nil || conf.info.Mode().Perm()&0o004 == 0 {
		return
	}
	cf, fi := conf.file, conf.info
	log.Warn("the configuration file is readable by every user and may hold passwords: make it mode 0640, owner root, group guichet",
		"file", cf.path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
}
