package main

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/guichet/guichet/blob"
	"github.com/guichet/guichet/ticket"
)

// TestParseRetention: the --retention syntax.
func TestParseRetention(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in     string
		off    bool
		cutoff time.Time
		bad    bool
	}{
		{in: "0", off: true},
		{in: "", off: true},
		{in: "24mo", cutoff: time.Date(2024, 12, 7, 12, 0, 0, 0, time.UTC)},
		{in: "2y", cutoff: time.Date(2024, 12, 7, 12, 0, 0, 0, time.UTC)},
		{in: "90d", cutoff: now.Add(-90 * 24 * time.Hour)},
		{in: "6w", cutoff: now.Add(-42 * 24 * time.Hour)},
		{in: "720h", cutoff: now.Add(-720 * time.Hour)},
		{in: "-3mo", bad: true}, {in: "+3mo", bad: true}, {in: "0mo", bad: true}, {in: "mo", bad: true},
		{in: "3 mo", bad: true}, {in: "1.5y", bad: true}, {in: "-1h", bad: true}, {in: "24months", bad: true},
		{in: "99999y", bad: true}, {in: "forever", bad: true},
	} {
		t.Run(c.in, func(t *testing.T) {
			p, err := parseRetention(c.in)
			if c.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Off() != c.off {
				t.Fatalf("Off() = %v", p.Off())
			}
			if !c.off && !p.Cutoff(now).Equal(c.cutoff) {
				t.Fatalf("cutoff %s, want %s", p.Cutoff(now), c.cutoff)
			}
		})
	}
}

// FuzzParseRetention: any text is refused or gives a period whose cutoff is in the past.
func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"0", "24mo", "2y", "720h", "-1d", "1e9y"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseRetention(s)
		if err != nil || p.Off() {
			return
		}
		if !p.Cutoff(now).Before(now) {
			t.Fatalf("%q: cutoff %s not before now", s, p.Cutoff(now))
		}
	})
}

func withAttachment(from, subject, mid, content string) string {
	return "From: " + from + "\r\nTo: support@localhost\r\nSubject: " + subject + "\r\nMessage-ID: <" + mid + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour, voir la pièce jointe.\r\n" +
		"--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"../planning.txt\"\r\n\r\n" + content + "\r\n--b1--\r\n"
}

// TestPersonalDataCommands: user export (stdout, folder, zip), retention run (dry, then
// for real: texts, sent .eml files and files no longer referenced removed, a file shared
// with an open ticket kept) and user erase (last admin refused, odd case, twice), all
// recorded in the audit log without the people's addresses.
func TestPersonalDataCommands(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { personalDataCommands(t, "") })
	t.Run("postgres", func(t *testing.T) { personalDataCommands(t, testPostgresDB(t)) })
}

func personalDataCommands(t *testing.T, dsn string) {
	dir := t.TempDir()
	ctx := context.Background()
	flags := []string{"--data-dir", dir}
	if dsn == "" {
		dsn = filepath.Join(dir, "guichet.db")
	} else {
		flags = append(flags, "--db", dsn)
	}
	runWith := func(stdin string, env map[string]string, args ...string) (int, string, string) {
		return runWith(stdin, env, append(args, flags...)...)
	}
	content := "le planning de la semaine"
	sumb := sha256.Sum256([]byte(content))
	sum := hex.EncodeToString(sumb[:])
	blobPath := filepath.Join(dir, "attachments", sum[:2], sum[2:])
	for _, m := range []string{
		withAttachment("Jeanne Martin <jeanne@ecole.test>", "Imprimante en panne", "j1@ecole.test", content),
		withAttachment("Paul <paul@ecole.test>", "Même fichier", "p1@ecole.test", content),
	} {
		if code, _, errs := runWith(m, nil, "ingest"); code != 0 {
			t.Fatalf("ingest: %d %s", code, errs)
		}
	}
	if _, err := os.Stat(blobPath); err != nil {
		t.Fatalf("the attachment is not at %s: %v", blobPath, err)
	}
	if code, _, errs := runWith("", nil, "user", "add", "root@support.test", "--role", "admin", "--name", "Root"); code != 0 {
		t.Fatalf("user add: %d %s", code, errs)
	}
	env := map[string]string{"USER": "opérateur"}

	// export on stdout: the JSON alone
	code, out, errs := runWith("", env, "user", "export", "JEANNE@Ecole.TEST")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	var x map[string]any
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	var keys []string
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "api_tokens,events,exported_at,files,format,mail_received_from_them,mail_sent_to_them,satisfaction_ratings,sessions,signin_links,tickets,user,whitelisted_for" {
		t.Fatalf("export keys: %v", keys)
	}
	user := x["user"].(map[string]any)
	tickets := x["tickets"].([]any)
	if user["email"] != "jeanne@ecole.test" || user["name"] != "Jeanne Martin" || len(tickets) != 1 || tickets[0].(map[string]any)["key"] != "AURAN1-1" {
		t.Fatalf("export: user %v, tickets %v", user, tickets)
	}
	if _, ok := user["password_hash"]; ok {
		t.Fatal("the export shows the password hash")
	}

	// export into a folder: the JSON and the file, under a safe name
	folder := filepath.Join(t.TempDir(), "export-jeanne")
	if code, out, errs := runWith("", env, "user", "export", "jeanne@ecole.test", "--out", folder); code != 0 || !strings.Contains(out, "1 files") {
		t.Fatalf("export --out: %d %q %s", code, out, errs)
	}
	var fx ticket.Export
	if b, err := os.ReadFile(filepath.Join(folder, "guichet-export.json")); err != nil || json.Unmarshal(b, &fx) != nil {
		t.Fatalf("guichet-export.json: %v", err)
	}
	if len(fx.Files) != 1 || fx.Files[0].Path != "files/001-planning.txt" {
		t.Fatalf("files: %+v", fx.Files)
	}
	if b, err := os.ReadFile(filepath.Join(folder, "files", "001-planning.txt")); err != nil || string(b) != content {
		t.Fatalf("exported file: %q, %v", b, err)
	}
	if code, _, errs := runWith("", env, "user", "export", "jeanne@ecole.test", "--out", folder); code != 64 || !strings.Contains(errs, "empty folder") {
		t.Fatalf("export into a folder not empty: %d %s", code, errs)
	}
	// and into a zip
	zpath := filepath.Join(t.TempDir(), "jeanne.zip")
	if code, _, errs := runWith("", env, "user", "export", "jeanne@ecole.test", "--out", zpath); code != 0 {
		t.Fatalf("export zip: %d %s", code, errs)
	}
	zr, err := zip.OpenReader(zpath)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	if strings.Join(names, ",") != "files/001-planning.txt,guichet-export.json" {
		t.Fatalf("zip entries: %v", names)
	}
	if code, _, errs := runWith("", env, "user", "export", "nobody@ecole.test"); code != 64 || !strings.Contains(errs, "aucun utilisateur") {
		t.Fatalf("unknown address: %d %s", code, errs)
	}
	if code, out, errs := runWith("", env, "user", "export", "root@support.test"); code != 0 || !strings.Contains(out, `"role": "admin"`) {
		t.Fatalf("an admin's export: %d %s", code, errs)
	}

	// Close the first ticket three years ago; the second stays open.
	db, _, err := ticket.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(db.Rebind("UPDATE tickets SET status = 'closed', closed_at = ? WHERE key = 'AURAN1-1'"), time.Now().AddDate(-3, 0, 0).UTC()); err != nil {
		t.Fatal(err)
	}
	var sentOld, sentOpen []string
	for key, dst := range map[string]*[]string{"AURAN1-1": &sentOld, "AURAN1-2": &sentOpen} {
		if err := db.Select(dst, db.Rebind("SELECT substr(response, 9) FROM outbox WHERE ticket_key = ? AND response LIKE 'written %'"), key); err != nil {
			t.Fatal(err)
		}
		if len(*dst) == 0 {
			t.Fatalf("no sent mail for %s", key)
		}
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	if code, _, errs := runWith("", env, "retention", "run"); code != 64 || !strings.Contains(errs, "--retention") {
		t.Fatalf("retention run without a period: %d %s", code, errs)
	}
	code, out, errs = runWith("", env, "retention", "run", "--retention", "24mo", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("dry run: %d %s", code, errs)
	}
	var dry map[string]any
	if err := json.Unmarshal([]byte(out), &dry); err != nil || dry["dry_run"] != true || len(dry["tickets"].([]any)) != 1 {
		t.Fatalf("dry run JSON: %v %s", err, out)
	}
	if !exists(filepath.Join(dir, "sent", sentOld[0])) {
		t.Fatal("the dry run removed a sent mail")
	}
	code, out, errs = runWith("", env, "retention", "run", "--retention", "24mo")
	if code != 0 || !strings.Contains(out, "1 purged") || !strings.Contains(out, "1 purgées") || !strings.Contains(out, "AURAN1-1") {
		t.Fatalf("retention run: %d %q %s", code, out, errs)
	}
	for _, n := range sentOld {
		if exists(filepath.Join(dir, "sent", n)) {
			t.Fatalf("sent mail %s of the purged ticket is still there", n)
		}
	}
	for _, n := range sentOpen {
		if !exists(filepath.Join(dir, "sent", n)) {
			t.Fatalf("sent mail %s of the open ticket was removed", n)
		}
	}
	if !exists(blobPath) {
		t.Fatal("the attachment shared with the open ticket was removed")
	}
	code, out, _ = runWith("", nil, "ticket", "show", "AURAN1-1", "--json")
	var shown map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown["summary"] != ticket.ErasedText || shown["status"] != "closed" {
		t.Fatalf("purged ticket: %d %s", code, out)
	}

	// erase
	if code, _, errs := runWith("", env, "user", "erase", "root@support.test"); code != 1 || !strings.Contains(errs, "last administrator") {
		t.Fatalf("erase the last admin: %d %s", code, errs)
	}
	code, out, errs = runWith("", env, "user", "erase", "Paul@ECOLE.test", "--json")
	var er map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &er) != nil || er["files_removed"] != float64(1) || !strings.HasPrefix(er["pseudonym"].(string), "utilisateur-supprimé-") {
		t.Fatalf("erase paul: %d %q %s", code, out, errs)
	}
	if exists(blobPath) {
		t.Fatal("the attachment no row points at any more is still on disk")
	}
	if code, _, errs := runWith("", env, "user", "erase", "paul@ecole.test"); code != 64 {
		t.Fatalf("erase twice: %d %s", code, errs)
	}

	code, out, errs = runWith("", nil, "audit", "list", "--json")
	var log []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &log) != nil {
		t.Fatalf("audit list: %d %q %s", code, out, errs)
	}
	var acts []string
	for _, l := range log {
		acts = append(acts, l["action"].(string))
		if b, _ := json.Marshal(l); strings.Contains(string(b), "paul") || strings.Contains(string(b), "jeanne") {
			t.Fatalf("audit row names a person: %s", b)
		}
	}
	if strings.Join(acts, ",") != "erase,retention,export,export,export,export" || log[5]["actor"] != "cli:opérateur" || log[0]["user_id"] == nil {
		t.Fatalf("audit log: %+v", log)
	}
	if code, out, _ := runWith("", nil, "audit", "list", "--limit", "1"); code != 0 || !strings.Contains(out, "ACTION") || !strings.Contains(out, "erase") || strings.Contains(out, "retention") {
		t.Fatalf("audit list --limit 1: %d %q", code, out)
	}
}

// TestServeAppliesRetention: serve with --retention purges, at start, a ticket closed
// before the cutoff, and leaves an open one.
func TestServeAppliesRetention(t *testing.T) {
	dir := t.TempDir()
	for _, m := range []string{
		withAttachment("Jeanne <jeanne@ecole.test>", "Vieille demande", "old@ecole.test", "ancien"),
		withAttachment("Paul <paul@ecole.test>", "Demande ouverte", "open@ecole.test", "récent"),
	} {
		if code, _, errs := runWith(m, nil, "ingest", "--no-send", "--data-dir", dir); code != 0 {
			t.Fatalf("ingest: %d %s", code, errs)
		}
	}
	db, _, err := ticket.Open(context.Background(), filepath.Join(dir, "guichet.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec("UPDATE tickets SET status = 'closed', closed_at = ? WHERE key = 'AURAN1-1'", time.Now().AddDate(-3, 0, 0).UTC())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := startHarnessOn(t, dir, "--retention", "24mo")
	deadline := time.Now().Add(15 * time.Second)
	for h.show("AURAN1-1")["summary"] != ticket.ErasedText {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not purge the old ticket: %v", h.show("AURAN1-1"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if open := h.show("AURAN1-2"); open["summary"] != "Demande ouverte" || len(open["attachments"].([]any)) != 1 {
		t.Fatalf("open ticket: %v", open)
	}
}

// TestWriteExportHostileNames: file names from mail never leave the export folder nor
// hide in it; content stored once is written once; content gone from the blob store is
// marked missing, not an error.
func TestWriteExportHostileNames(t *testing.T) {
	ctx := context.Background()
	blobs, err := blob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sum, _, err := blobs.PutBlob(ctx, strings.NewReader("contenu"))
	if err != nil {
		t.Fatal(err)
	}
	gone := strings.Repeat("ab", 32)
	x := &ticket.Export{Files: []ticket.ExportFile{
		{Filename: "../../etc/passwd", SHA256: sum},
		{Filename: "autre nom", SHA256: sum},
		{Filename: "perdu.pdf", SHA256: gone},
	}}
	out := filepath.Join(t.TempDir(), "x")
	n, err := writeExport(ctx, out, blobs, x)
	if err != nil || n != 1 {
		t.Fatalf("writeExport: %d files, %v", n, err)
	}
	if x.Files[0].Path != "files/001-_.._etc_passwd" || x.Files[1].Path != x.Files[0].Path || !x.Files[2].Missing || x.Files[2].Path != "" {
		t.Fatalf("files: %+v", x.Files)
	}
	if b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(x.Files[0].Path))); err != nil || string(b) != "contenu" {
		t.Fatalf("file: %q %v", b, err)
	}
	for in, want := range map[string]string{
		"": "file", ".htaccess": "htaccess", "a\x00b\nc": "a_b_c", `C:\Windows\x.exe`: "C__Windows_x.exe",
		strings.Repeat("é", 80): strings.Repeat("é", 50),
	} {
		if got := safeFileName(in); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRetentionFromEnv: --retention reads GUICHET_RETENTION like every flag, and a bad
// period there is a usage error naming the syntax.
func TestRetentionFromEnv(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runWith("", nil, "migrate", "--data-dir", dir); code != 0 {
		t.Fatalf("migrate: %d %s", code, errs)
	}
	code, out, errs := runWith("", map[string]string{"GUICHET_RETENTION": "2y"}, "retention", "run", "--dry-run", "--json", "--data-dir", dir)
	var rep map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep["tickets"].([]any)) != 0 {
		t.Fatalf("GUICHET_RETENTION=2y: %d %q %s", code, out, errs)
	}
	cutoff, err := time.Parse(time.RFC3339, rep["cutoff"].(string))
	if err != nil || time.Since(cutoff) < 729*24*time.Hour || time.Since(cutoff) > 732*24*time.Hour {
		t.Fatalf("cutoff %v (%v), want two years ago", rep["cutoff"], err)
	}
	if code, _, errs := runWith("", map[string]string{"GUICHET_RETENTION": "forever"}, "retention", "run", "--data-dir", dir); code != 64 || !strings.Contains(errs, "24mo") {
		t.Fatalf("GUICHET_RETENTION=forever: %d %s", code, errs)
	}
}
