package multitest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/guichet/guichet/internal/testimap"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx", to create the run's database and check it
	"github.com/redis/go-redis/v9"
)

// needServices returns the three service URLs, or skips the test.
func needServices(t *testing.T) (pg, rd, im string) {
	pg, rd, im = os.Getenv("GUICHET_TEST_POSTGRES"), os.Getenv("GUICHET_TEST_REDIS"), os.Getenv("GUICHET_TEST_IMAP")
	if pg == "" || rd == "" || im == "" {
		t.Skip("multi-instance test skipped: it needs GUICHET_TEST_POSTGRES, GUICHET_TEST_REDIS and GUICHET_TEST_IMAP " +
			`(.ci/run sets them; eval "$(.ci/dovecot.sh)" starts Dovecot)`)
	}
	return pg, rd, im
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// buildGuichet builds the binary under test into a temporary folder.
func buildGuichet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "guichet")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/guichet/guichet/cmd/guichet").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// newDatabase creates the run's PostgreSQL database on the server of base, dropped at the
// end, and returns its URL and a connection to it.
func newDatabase(t *testing.T, base, name string) (string, *sql.DB) {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal("GUICHET_TEST_POSTGRES: unreadable URL")
	}
	u.Path = "/" + name
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	return u.String(), db
}

// newRedis connects to the Redis of GUICHET_TEST_REDIS. The instances use it as it is:
// their keys are named after the run's mailbox and senders, so runs do not meet (a
// FLUSHDB would break a concurrent run, and pub/sub channels span databases anyway).
// The run's keys are deleted at the end.
func newRedis(t *testing.T, base, tag string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatal("GUICHET_TEST_REDIS: unreadable URL")
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, _ := rdb.Keys(ctx, "guichet:*"+tag+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb
}

// mailbox is the run's own folder on the IMAP server, deleted at the end together with
// the run's messages that the instances moved to the shared Guichet/… folders.
type mailbox struct {
	t      *testing.T
	c      *imapclient.Client
	folder string
	url    string // for `guichet serve --imap`
	tag    string
}

func newMailbox(t *testing.T, base, tag string) *mailbox {
	t.Helper()
	c := testimap.Dial(t, base)
	m := &mailbox{t: t, c: c, folder: "guichet-multi-" + tag, tag: tag}
	if err := c.Create(m.folder, nil).Wait(); err != nil {
		t.Fatalf("imap: create %s: %v", m.folder, err)
	}
	t.Cleanup(m.cleanup)
	u, _ := url.Parse(base) // Dial has read it
	u.Path = "/" + m.folder
	q := u.Query()
	q.Set("tls_skip_verify", "true") // guichet has no CA option: the server's certificate is self-signed
	u.RawQuery = q.Encode()
	m.url = u.String()
	return m
}

// append adds one message to the run's folder.
func (m *mailbox) append(data []byte) error {
	cmd := m.c.Append(m.folder, int64(len(data)), nil)
	if _, err := cmd.Write(data); err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// left is the number of messages still in the run's folder.
func (m *mailbox) left() (int, error) {
	d, err := m.c.Status(m.folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, err
	}
	return int(*d.NumMessages), nil
}

// taken counts, in each folder whose name starts with "Guichet", the messages of this
// run (their Message-ID holds the tag), and deletes them when purge is set.
func (m *mailbox) taken(purge bool) (map[string]int, error) {
	l, err := m.c.List("", "Guichet*", nil).Collect()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, f := range l {
		if _, err := m.c.Select(f.Mailbox, nil).Wait(); err != nil {
			continue // \Noselect parent
		}
		data, err := m.c.UIDSearch(&imap.SearchCriteria{
			Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: m.tag}},
		}, nil).Wait()
		if err != nil {
			return nil, err
		}
		uids := data.AllUIDs()
		out[f.Mailbox] = len(uids)
		if purge && len(uids) > 0 {
			set := imap.UIDSetNum(uids...)
			if err := m.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
				return out, err
			}
			if err := m.c.UIDExpunge(set).Close(); err != nil {
				return out, err
			}
		}
		if err := m.c.Unselect().Wait(); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (m *mailbox) cleanup() {
	if _, err := m.taken(true); err != nil {
		m.t.Logf("imap: purge the run's processed messages: %v", err)
	}
	if err := m.c.Delete(m.folder).Wait(); err != nil && !strings.Contains(err.Error(), "NONEXISTENT") {
		m.t.Logf("imap: delete %s: %v", m.folder, err)
	}
	m.c.Logout().Wait()
	m.c.Close()
}
