package mailout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
)

// DirSender writes each mail as a file <Dir>/<timestamp>-<id>.eml, for development and
// for installations without a relay. The id is taken from the Message-ID. A
// Return-Path and a Delivered-To line per recipient are put before the message, as a
// local delivery does.
type DirSender struct {
	Dir string
	// Now gives the file's timestamp; time.Now when nil.
	Now func() time.Time
}

var _ ReplySender = (*DirSender)(nil)

// NewDirSender returns a DirSender writing into dir, which it creates when needed.
func NewDirSender(dir string) *DirSender { return &DirSender{Dir: dir} }

// Send implements Sender.
func (s *DirSender) Send(ctx context.Context, from string, to []string, msg []byte) error {
	_, err := s.SendReply(ctx, from, to, msg)
	return err
}

// SendReply writes the mail atomically (temporary file, fsync, rename, fsync of the
// folder) and returns "written <file name>".
func (s *DirSender) SendReply(ctx context.Context, from string, to []string, msg []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "Return-Path: <%s>\r\n", oneLine(from))
	for _, rcpt := range to {
		fmt.Fprintf(&head, "Delivered-To: %s\r\n", oneLine(rcpt))
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return "", fmt.Errorf("mailout: dir: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	name := now().UTC().Format("20060102T150405.000000000Z") + "-" + fileID(msg) + ".eml"

	f, err := os.CreateTemp(s.Dir, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return "", fmt.Errorf("mailout: dir: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(head.Bytes()); err != nil {
		return "", fmt.Errorf("mailout: dir: write %s: %w", tmp, err)
	}
	if _, err := f.Write(msg); err != nil {
		return "", fmt.Errorf("mailout: dir: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("mailout: dir: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("mailout: dir: close %s: %w", tmp, err)
	}
	final := filepath.Join(s.Dir, name)
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("mailout: dir: %w", err)
	}
	done = true
	if d, err := os.Open(s.Dir); err == nil { // make the rename durable
		err = d.Sync()
		d.Close()
		if err != nil {
			return "", fmt.Errorf("mailout: dir: sync %s: %w", s.Dir, err)
		}
	}
	return "written " + name, nil
}

// tempPrefix and tempSuffix frame the name of a file being written: os.CreateTemp's
// pattern ".tmp-*.eml". Readers of the folder skip dot files.
const (
	tempPrefix = ".tmp-"
	tempSuffix = ".eml"
)

// StaleTempAge is the age past which a temporary file of the folder can only be the
// leftover of a write that was killed (a send lasts at most the worker's SendTimeout,
// 2 min by default), not a write in progress of serve or of a `guichet ingest`.
const StaleTempAge = 10 * time.Minute

// RemoveStaleTemp removes the temporary files that writes killed mid-way (power cut,
// SIGKILL) left in the folder, those last modified more than olderThan ago, and returns
// how many it removed. Nothing else is touched: not the mail written, nor folders or
// links that happen to bear such a name. A missing folder has none.
func (s *DirSender) RemoveStaleTemp(olderThan time.Duration) (int, error) {
	d, err := os.Open(s.Dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("mailout: dir: %w", err)
	}
	defer d.Close()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	cutoff := now().Add(-olderThan)
	removed := 0
	for {
		// By chunks: the folder may hold every mail ever sent.
		es, err := d.ReadDir(1024)
		for _, e := range es {
			name := e.Name()
			if !e.Type().IsRegular() || !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.ModTime().Before(cutoff) {
				continue // gone meanwhile, or a write that may be in progress
			}
			if err := os.Remove(filepath.Join(s.Dir, name)); err != nil && !os.IsNotExist(err) {
				return removed, fmt.Errorf("mailout: dir: remove %s: %w", name, err)
			}
			removed++
		}
		if err == io.EOF || (err == nil && len(es) == 0) {
			return removed, nil
		}
		if err != nil {
			return removed, fmt.Errorf("mailout: dir: read %s: %w", s.Dir, err)
		}
	}
}

// fileID derives a file-name-safe id from the message's Message-ID, or a random one.
func fileID(msg []byte) string {
	h, err := textproto.ReadHeader(bufioReader(msg))
	id := ""
	if err == nil {
		id = strings.Trim(h.Get("Message-Id"), "<> \t")
	}
	id = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		case r == '@':
			return '_'
		}
		return -1
	}, id)
	if len(id) > 80 {
		id = id[:80]
	}
	if id == "" {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	return id
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
