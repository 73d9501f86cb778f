package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/smtp"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"
)

// bigMail returns a reader of a message of about size bytes, most of it a base64
// attachment, made as it is read: the test's own side never holds it whole (client and
// server share the heap measured).
func bigMail(from, msgID string, size int) io.Reader {
	head := fmt.Sprintf("From: %s\r\nTo: support@localhost\r\nSubject: Gros fichier\r\nMessage-ID: <%s>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"+
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoici le fichier demandé.\r\n"+
		"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"gros.bin\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", from, msgID)
	tail := "--b1--\r\n"
	line := "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
	lines := (size - len(head) - len(tail)) / len(line)
	return io.MultiReader(strings.NewReader(head), &repeatReader{s: line, n: lines}, strings.NewReader(tail))
}

// repeatReader reads s n times.
type repeatReader struct {
	s   string
	n   int
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	w := 0
	for w < len(p) && r.n > 0 {
		c := copy(p[w:], r.s[r.off:])
		w += c
		r.off += c
		if r.off == len(r.s) {
			r.off = 0
			r.n--
		}
	}
	if w == 0 && r.n == 0 {
		return 0, io.EOF
	}
	return w, nil
}

// heapPeak samples the bytes of heap objects every millisecond until stop, and returns
// the highest sample.
func heapPeak(stop <-chan struct{}) func() uint64 {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			mu.Lock()
			peak = max(peak, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// sendStream sends the message r yields over one SMTP session and returns the reply to
// its data (nil for a 250).
func sendStream(addr, from string, r io.Reader) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt("support@localhost"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// TestBigMailMemoryFlat: a 24 MB message received over a real SMTP session, spooled,
// parsed, and stored with its 18 MB attachment, and a 30 MB one refused for its size,
// each raise the heap by far less than their size: the message is streamed to the spool
// as it arrives and read from there in pieces, never held whole. (Behavioural, not
// timed: the heap is sampled while each message is sent and processed; the collector is
// made eager so that garbage does not hide what is live.)
func TestBigMailMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 54 MB over loopback")
	}
	// outbound mail attaches no file: what is measured is the intake
	h := startHarness(t, "--mail-attach-max", "0")
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	const size = 24 << 20
	measure := func(name string, send func() error) (uint64, error) {
		runtime.GC()
		base := heapNow()
		stop := make(chan struct{})
		peak := heapPeak(stop)
		err := send()
		close(stop)
		p := peak()
		growth := uint64(0)
		if p > base {
			growth = p - base
		}
		t.Logf("%s: heap %d MB before, peak %d MB (+%.1f MB)", name, base>>20, p>>20, float64(growth)/(1<<20))
		return growth, err
	}
	growth, err := measure("24 MB accepted", func() error {
		err := sendStream(h.smtpAddr, "jeanne@ecole.test", bigMail("jeanne@ecole.test", "big1@ecole.test", size))
		if err == nil {
			h.waitProcessed()
		}
		return err
	})
	if err != nil {
		t.Fatalf("24 MB message: %v", err)
	}
	if growth > size/3 {
		t.Errorf("receiving a %d MB message raised the heap by %.1f MB: it is held in memory", size>>20, float64(growth)/(1<<20))
	}
	// it is all there: one ticket, the attachment and the raw message as files
	if l := h.list(); len(l) != 1 {
		t.Fatalf("%d tickets, want 1", len(l))
	}
	var files []int64
	root := filepath.Join(h.dataDir, "attachments")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if rel, _ := filepath.Rel(root, p); err == nil && !d.IsDir() && !strings.HasPrefix(rel, "tmp") {
			if fi, err := d.Info(); err == nil && fi.Size() > 10<<20 {
				files = append(files, fi.Size())
			}
		}
		return nil
	})
	if len(files) != 2 {
		t.Fatalf("big files in the blob store: %v, want the raw message and the attachment", files)
	}

	growth, err = measure("30 MB refused", func() error {
		return sendStream(h.smtpAddr, "paul@ecole.test", bigMail("paul@ecole.test", "big2@ecole.test", 30<<20))
	})
	if err == nil || !strings.HasPrefix(err.Error(), "552") {
		t.Fatalf("30 MB message over the 25 MB limit: %v, want a 552", err)
	}
	if growth > size/3 {
		t.Errorf("refusing a 30 MB message raised the heap by %.1f MB: it is held in memory", float64(growth)/(1<<20))
	}
	if l := h.list(); len(l) != 1 {
		t.Fatalf("%d tickets after the refused message, want 1", len(l))
	}
}

func heapNow() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestIngestBigMail: `guichet ingest` stages a message past 1 MiB on disk as it reads
// stdin and stores it in the blob store (inbound size from the delivery, the ticket made,
// nothing left in the stage folder); one past --max-message-size exits 65 (the MTA
// bounces it) and stores nothing.
func TestIngestBigMail(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	io.Copy(&b, bigMail("jeanne@ecole.test", "ingest-big@ecole.test", 3<<20))
	msg := b.String()
	if code, _, errs := runWith(msg, nil, "ingest", "--no-send", "--data-dir", dir); code != 0 {
		t.Fatalf("ingest: %d %s", code, errs)
	}
	code, out, errs := runWith("", nil, "inbound", "list", "--json", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf(`"size": %d`, len(msg))) && !strings.Contains(out, fmt.Sprintf(`"size":%d`, len(msg))) {
		t.Fatalf("inbound list: %d %s %s", code, out, errs)
	}
	if code, out, _ := runWith("", nil, "ticket", "list", "--json", "--data-dir", dir); code != 0 || strings.Count(out, `"key"`) != 1 {
		t.Fatalf("tickets: %s", out)
	}
	rawKept := false
	filepath.WalkDir(filepath.Join(dir, "attachments"), func(p string, d fs.DirEntry, err error) error {
		if fi, ierr := d.Info(); err == nil && ierr == nil && !d.IsDir() && fi.Size() == int64(len(msg)) {
			rawKept = true
		}
		return nil
	})
	if !rawKept {
		t.Fatal("the raw message is not a file of the blob store")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "stage", "*")); len(left) != 0 {
		t.Fatalf("left in the stage folder: %v", left)
	}
	if code, _, errs := runWith(msg, nil, "ingest", "--no-send", "--data-dir", dir, "--max-message-size", "2097152"); code != 65 {
		t.Fatalf("over-size ingest: %d %s, want 65", code, errs)
	}
	if code, out, _ := runWith("", nil, "inbound", "list", "--json", "--data-dir", dir); code != 0 || strings.Count(out, `"id"`) != 1 {
		t.Fatalf("over-size message stored: %s", out)
	}
}
