package main

import (
	"encoding/json"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cutOffMail ends inside its attachment: no closing boundary (issue 10, item 2). Line
// ends are bare: harness.send makes them CRLF.
const cutOffMail = "From: a@ecole.test\nTo: support@localhost\nSubject: t\nMessage-ID: <cut1@ecole.test>\nMIME-Version: 1.0\n" +
	"Content-Type: multipart/mixed; boundary=\"X\"\n\n--X\nContent-Type: text/plain\n\ntext\n" +
	"--X\nContent-Type: image/png; name=a.png\n\nrawbytes\n"

// cutOffBlob is the SHA-256 of what cutOffMail's attachment holds: "rawbytes".
const cutOffBlob = "2728ee4f1a64b0ef1cd9bd4dfb25a80b98c3f84394e25666fcf8cef17e6c39d3"

// TestInspectCutOffAttachment: inspect reads a mail cut off inside an attachment: the text,
// and the attachment as received, flagged truncated.
func TestInspectCutOffAttachment(t *testing.T) {
	dir := t.TempDir()
	for name, raw := range map[string]string{
		"issue": "From: a@b.test\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n" +
			"--X\r\nContent-Type: text/plain\r\n\r\ntext\r\n--X\r\nContent-Type: image/png; name=a.png\r\n\r\nrawbytes\r\n",
		"fuzzer": "Content-Type:multipart/;boundary=R\n\n--R\nContent-Type:/0",
	} {
		f := filepath.Join(dir, name+".eml")
		if err := os.WriteFile(f, []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, dataDir: dir}
		code, out, errs := h.cli("", "inspect", "--json", f)
		if code != 0 {
			t.Fatalf("%s: inspect exit %d: %s", name, code, errs)
		}
		var res struct {
			Text        string `json:"text"`
			Attachments []struct {
				Filename  string `json:"filename"`
				Size      int64  `json:"size"`
				SHA256    string `json:"sha256"`
				Truncated bool   `json:"truncated"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if name == "issue" {
			if res.Text != "text" || len(res.Attachments) != 1 {
				t.Fatalf("issue: %s", out)
			}
			a := res.Attachments[0]
			if a.Filename != "a.png" || a.Size != 8 || a.SHA256 != cutOffBlob || !a.Truncated {
				t.Fatalf("issue: attachment %+v", a)
			}
		}
	}
}

// TestCutOffAttachmentOverSMTPAndIngest: such a mail is taken (250, exit 0) and becomes a
// ticket with its text and the truncated file.
func TestCutOffAttachmentOverSMTPAndIngest(t *testing.T) {
	h := startHarness(t)
	if err := h.send("a@ecole.test", cutOffMail); err != nil {
		t.Fatalf("SMTP: %v, want 250", err)
	}
	h.waitProcessed()
	code, _, errs := h.cli(strings.Replace(cutOffMail, "cut1@", "cut2@", 1), "ingest", "--no-send")
	if code != 0 {
		t.Fatalf("ingest: exit %d, want 0: %s", code, errs)
	}
	l := h.list()
	if len(l) != 2 {
		t.Fatalf("tickets: %v", l)
	}
	for _, tk := range l {
		m := h.show(tk["key"].(string))
		if m["summary"] != "t" || !strings.Contains(m["description"].(string), "text") {
			t.Fatalf("ticket %v", m)
		}
		as, _ := m["attachments"].([]any)
		if len(as) != 1 {
			t.Fatalf("attachments: %v", m["attachments"])
		}
		a := as[0].(map[string]any)
		if a["filename"] != "a.png" || a["size"] != float64(8) || a["truncated"] != true {
			t.Fatalf("attachment %v", a)
		}
		if _, err := os.Stat(filepath.Join(h.dataDir, "attachments", cutOffBlob[:2], cutOffBlob[2:])); err != nil {
			t.Fatalf("the part received is not stored: %v", err)
		}
	}
}

// TestAttachmentWriteFailureIsTemporary: a real failure to write an attachment (here the
// blob's folder cannot be made), cut-off mail or not, exits 75 from ingest: the sender
// keeps the message for later. Over SMTP the message is in the spool before it is parsed:
// it gets its 250 and waits there, /healthz failing, tried again until the file can be
// written; then it becomes a ticket with its file, once.
func TestAttachmentWriteFailureIsTemporary(t *testing.T) {
	h := startHarness(t)
	// A file where the blob's folder must go: writing the attachment fails.
	block := filepath.Join(h.dataDir, "attachments", cutOffBlob[:2])
	if err := os.WriteFile(block, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := strings.Replace(cutOffMail, "cut1@", "whole@", 1) + "--X--\n"
	for _, raw := range []string{cutOffMail, complete} {
		if code, _, errs := h.cli(raw, "ingest", "--no-send"); code != 75 {
			t.Fatalf("ingest with the blob folder blocked: exit %d, want 75: %s", code, errs)
		}
	}
	for _, raw := range []string{cutOffMail, complete} {
		if err := smtp.SendMail(h.smtpAddr, nil, "a@ecole.test", []string{"support@localhost"}, []byte(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
			t.Fatalf("SMTP with the blob folder blocked: %v, want a 250 (the spool has it)", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := get(t, "http://"+h.httpAddr+"/healthz"); code != 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz still ok while attachments cannot be written")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l := h.list(); len(l) != 0 {
		t.Fatalf("tickets without their files: %v", l)
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	h.waitProcessed()
	l := h.list()
	if len(l) != 2 {
		t.Fatalf("%d tickets once the folder can be made, want 2: %v", len(l), l)
	}
	if _, err := os.Stat(filepath.Join(block, cutOffBlob[2:])); err != nil {
		t.Fatalf("attachment not written once it could be: %v", err)
	}
	if code, body := get(t, "http://"+h.httpAddr+"/healthz"); code != 200 {
		t.Fatalf("/healthz once the messages are in: %d %s", code, body)
	}
}
