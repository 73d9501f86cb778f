package mailin

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// statusWatch finds the untagged NO and BYE responses that the server sends while the
// poller waits for mail. imapclient (v2 beta) reads and drops them, yet they are how a
// server says that the watched folder is gone: Dovecot answers an IDLE session whose
// folder was deleted (and recreated) with "* NO" and, from then on, announces nothing,
// so without them the poller would sleep until the next IDLE refresh.
//
// It is the connection's imapclient DebugWriter, so it sees the bytes the client reads
// (after TLS) and the ones it writes, in one stream. It watches only once logged in
// (track), so that a password sent as a literal is never parsed; after that the client
// writes no literals, and a literal the server sends (a message's body) is skipped by
// its length, so that mail quoting "* NO" cannot end a session. A status response counts
// only while the poller waits (on), and, for IDLE, only after the server's continuation
// "+": earlier ones answered commands (a warning on SELECT) and are left to imapclient.
type statusWatch struct {
	mu    sync.Mutex
	track bool      // logged in: parse the stream
	mode  watchMode // what the lines count for
	skip  int64     // bytes of a literal still to pass
	head  []byte    // the line's first bytes
	tail  []byte    // the line's last bytes, where a literal's "{n}" is
	alert chan string
}

type watchMode int

const (
	watchOff  watchMode = iota
	watchIdle           // an IDLE command is starting: on from its continuation
	watchOn
)

const (
	watchHead = 256 // bytes of a line kept for its text
	watchTail = 32  // bytes kept for "{n}\r\n"
)

func newStatusWatch() *statusWatch { return &statusWatch{alert: make(chan string, 1)} }

// start parses from now on; called once logged in.
func (w *statusWatch) start() {
	w.mu.Lock()
	w.track = true
	w.mu.Unlock()
}

// arm makes NO and BYE count, from the next continuation when idle is set.
func (w *statusWatch) arm(idle bool) {
	w.mu.Lock()
	w.mode = watchOn
	if idle {
		w.mode = watchIdle
	}
	w.mu.Unlock()
}

func (w *statusWatch) disarm() {
	w.mu.Lock()
	w.mode = watchOff
	w.mu.Unlock()
}

// Write takes a piece of the stream; it never fails.
func (w *statusWatch) Write(p []byte) (int, error) {
	n := len(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.track {
		return n, nil
	}
	for len(p) > 0 {
		if w.skip > 0 {
			k := int64(len(p))
			if k > w.skip {
				k = w.skip
			}
			w.skip -= k
			p = p[k:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i]
		}
		if room := watchHead - len(w.head); room > 0 {
			w.head = append(w.head, part[:min(room, len(part))]...)
		}
		w.tail = append(w.tail, part[max(0, len(part)-watchTail):]...)
		if len(w.tail) > watchTail {
			w.tail = append(w.tail[:0], w.tail[len(w.tail)-watchTail:]...)
		}
		if i < 0 {
			break
		}
		p = p[i+1:]
		w.line()
		w.head, w.tail = w.head[:0], w.tail[:0]
	}
	return n, nil
}

// line handles a line that ended.
func (w *statusWatch) line() {
	switch {
	case w.mode == watchIdle && bytes.HasPrefix(w.head, []byte("+")):
		w.mode = watchOn
	case w.mode == watchOn:
		if kind, text, ok := untaggedStatus(w.head); ok {
			select {
			case w.alert <- kind + " " + text:
			default: // one is waiting already
			}
		}
	}
	w.skip = literalLen(w.tail)
}

// untaggedStatus reports whether line is "* NO …" or "* BYE …", with its text.
func untaggedStatus(line []byte) (kind, text string, ok bool) {
	s, found := strings.CutPrefix(strings.TrimRight(string(line), "\r"), "* ")
	if !found {
		return "", "", false
	}
	kind, text, _ = strings.Cut(s, " ")
	kind = strings.ToUpper(kind)
	if kind != "NO" && kind != "BYE" {
		return "", "", false
	}
	// The text goes to the logs: printable characters only.
	text = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(text, ""))
	return kind, text, true
}

// literalLen returns n when the line ends with a literal's announcement "{n}" (or
// "{n+}", "~{n}"), whose n bytes follow the line's end; else 0.
func literalLen(tail []byte) int64 {
	s := strings.TrimRight(string(tail), "\r")
	if !strings.HasSuffix(s, "}") {
		return 0
	}
	open := strings.LastIndexByte(s, '{')
	if open < 0 {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(s[open+1:len(s)-1], "+"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
