package mailin

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"maps"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/guichet/guichet/internal/testimap"
)

// dovecot is a folder of its own on the server of GUICHET_TEST_IMAP, removed at the end.
type dovecot struct {
	t      *testing.T
	url    *url.URL
	tls    *tls.Config
	admin  *imapclient.Client
	folder string
	delim  string
}

// newDovecot connects to GUICHET_TEST_IMAP (see .ci/dovecot.sh) or skips the test.
func newDovecot(t *testing.T) *dovecot {
	raw := os.Getenv("GUICHET_TEST_IMAP")
	if raw == "" {
		t.Skip(`GUICHET_TEST_IMAP unset: Dovecot tests skipped (eval "$(.ci/dovecot.sh)" starts one)`)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal("GUICHET_TEST_IMAP: unreadable URL")
	}
	tc := testimap.TLSConfig(t)
	c := testimap.Dial(t, raw)
	l, err := c.List("", "", nil).Collect()
	if err != nil || len(l) == 0 {
		t.Fatalf("list: %v", err)
	}
	var b [4]byte
	rand.Read(b[:])
	d := &dovecot{t: t, url: u, tls: tc, admin: c, folder: "guichet-test-" + hex.EncodeToString(b[:]), delim: string(l[0].Delim)}
	if err := c.Create(d.folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.cleanup)
	return d
}

func (d *dovecot) cleanup() {
	d.admin.Unselect().Wait() // Dovecot ends the session when its selected folder goes
	l, _ := d.admin.List("", d.folder+"*", nil).Collect()
	names := make([]string, 0, len(l))
	for _, m := range l {
		names = append(names, m.Mailbox)
	}
	slices.Sort(names)
	slices.Reverse(names) // children first
	for _, n := range names {
		if err := d.admin.Delete(n).Wait(); err != nil {
			d.t.Logf("delete %s: %v", n, err)
		}
	}
	d.admin.Logout().Wait()
	d.admin.Close()
}

// pollerURL is the URL of the test folder, with scheme and host:port of base.
func (d *dovecot) pollerURL(base string) string {
	u, _ := url.Parse(base)
	u.Path = "/" + d.folder
	return u.String()
}

func (d *dovecot) add(flags []imap.Flag, ids ...string) {
	d.t.Helper()
	for _, id := range ids {
		msg := testMessage(id)
		cmd := d.admin.Append(d.folder, int64(len(msg)), &imap.AppendOptions{Flags: flags})
		cmd.Write(msg)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			d.t.Fatal(err)
		}
	}
}

// seen lists the messages of the test folder's sub-folder sub ("" for itself).
func (d *dovecot) seen(sub string) map[string]bool {
	name := d.folder
	if sub != "" {
		name += d.delim + sub
	}
	if _, err := d.admin.Status(name, &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
		return nil // not created yet
	}
	return folderSeen(d.t, d.admin, name)
}

func (d *dovecot) options(base string, sink *imapSink, cur *fakeCursors, lk *fakeLocker) IMAPOptions {
	return IMAPOptions{
		URL: d.pollerURL(base), TLSConfig: d.tls, Deliverer: sink, Cursor: cur, Locker: lk,
		Processed: d.folder + "/Traité", Refused: d.folder + "/Refusé", BatchSize: 2,
	}
}

// The whole flow against a real Dovecot: STARTTLS, AUTHENTICATE PLAIN, MOVE, "."
// as the hierarchy delimiter, IDLE, refusals, restart from the cursor, implicit TLS.
func TestIMAPDovecot(t *testing.T) {
	d := newDovecot(t)
	d.add(nil, "a", "b", "bad")
	d.add([]imap.Flag{imap.FlagSeen}, "c")
	sink, cur, lk := newIMAPSink(), newFakeCursors(), newFakeLocker()
	sink.refuse["bad@test"] = true
	opt := d.options(os.Getenv("GUICHET_TEST_IMAP"), sink, cur, lk)
	_, stop := startPoller(t, opt)
	waitFor(t, 10*time.Second, "the folder emptied", func() bool { return len(d.seen("")) == 0 && len(d.seen("Traité")) == 3 })
	if got, want := d.seen("Traité"), map[string]bool{"a": true, "b": true, "c": true}; !maps.Equal(got, want) {
		t.Fatalf("Traité = %v, want %v", got, want)
	}
	if got := d.seen("Refusé"); len(got) != 1 || got["bad"] {
		t.Fatalf("Refusé = %v, want bad, unread", got)
	}

	time.Sleep(200 * time.Millisecond) // let it idle
	start := time.Now()
	d.add(nil, "idle")
	waitFor(t, 2*time.Second, "IDLE wake-up", func() bool { return sink.has("idle@test") })
	t.Logf("taken %v after APPEND", time.Since(start))
	stop()

	d.add(nil, "after-restart")
	_, stop = startPoller(t, opt)
	waitFor(t, 10*time.Second, "after-restart", func() bool { return sink.has("after-restart@test") })
	stop()
	if n := sink.callCount(""); n != 6 {
		t.Fatalf("%d deliveries for 6 messages: %v", n, sink.calls)
	}

	if base := os.Getenv("GUICHET_TEST_IMAPS"); base != "" {
		t.Run("implicit TLS", func(t *testing.T) {
			tlsSink := newIMAPSink()
			startPoller(t, d.options(base, tlsSink, newFakeCursors(), newFakeLocker()))
			d.add(nil, "over-tls")
			waitFor(t, 10*time.Second, "over-tls", func() bool { return tlsSink.has("over-tls@test") })
		})
	}
}
