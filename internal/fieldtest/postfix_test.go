package fieldtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Who writes to whom in the field test. The support domain is the documentation's; the
// requester's and the agent's domains are local mailboxes of the test's Postfix.
const (
	supportAddr   = "support@support.example.org"
	requesterAddr = "requester@client.example.net"
	agentAddr     = "agent@example.org"
	// budget bounds one transport's run (the build apart), Postfix's start included.
	budget = 80 * time.Second
)

// TestPostfixFieldLMTP and TestPostfixFieldPipe build the one-host deployment of
// docs/deploy.md from its blocks and use it as people would (see run).
func TestPostfixFieldLMTP(t *testing.T) { runField(t, "lmtp") }
func TestPostfixFieldPipe(t *testing.T) { runField(t, "pipe") }

// env is one transport's world: a private Postfix, a Guichet data folder, mailboxes.
type env struct {
	t        *testing.T
	dir      string // everything of this run
	bin      string // the guichet binary
	conf     string // guichet.conf as the docs write it, paths and ports changed
	pfConf   string // the private Postfix's config_directory
	pfLog    string // its maillog_file
	pfPort   int    // its smtpd, on 127.0.0.1
	mailBase string // virtual_mailbox_base
	// docSMTPAddr is the listener the docs' guichet.conf names, which their LMTP
	// transport must name too; the test moves both to a free port.
	docSMTPAddr string
	guichet     *user.User
	ctx         context.Context
}

func runField(t *testing.T, transport string) {
	if os.Getenv("GUICHET_TEST_POSTFIX") == "" {
		t.Skip("GUICHET_TEST_POSTFIX not set: the Postfix field test needs Debian's postfix (run .ci/postfix.sh, as .ci/run does)")
	}
	if os.Geteuid() != 0 {
		t.Skip("the Postfix field test starts a private Postfix instance and runs guichet as user guichet: it needs root")
	}
	e := newEnv(t, transport)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	e.ctx = ctx
	start := time.Now()
	snip, err := ExtractFile(filepath.Join(repoRoot(t), "docs", "deploy.md"), AllSnippets...)
	if err != nil {
		t.Fatal(err)
	}
	e.writeGuichetConf(snip[SnipConfig])
	e.writePostfix(snip, transport)
	e.setup(snip[SnipSetup])
	// Postfix first, as on a machine where it runs already: serve probes its relay at start.
	e.startPostfix()
	if transport == "lmtp" {
		e.startServe(snip[SnipServeLMTP])
	}
	e.converse()
	e.checkPostfixClean(transport)
	t.Logf("%s: done in %s", transport, time.Since(start).Round(time.Millisecond))
}

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func newEnv(t *testing.T, transport string) *env {
	gu, err := user.Lookup("guichet")
	if err != nil {
		t.Fatalf("user guichet (the pipe's user=guichet; .ci/postfix.sh creates it): %v", err)
	}
	// Not t.TempDir: its 0700 parent keeps the guichet user and Postfix's daemons out.
	dir, err := os.MkdirTemp("", "guichet-field-"+transport+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("GUICHET_FIELD_KEEP") != "" {
			t.Logf("kept %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	must(t, os.Chmod(dir, 0o755))
	e := &env{t: t, dir: dir, guichet: gu, pfPort: freePort(t)}
	// GUICHET_FIELD_BIN tests a given binary (a release, a package's) instead of
	// building one; the guichet user must be able to run it.
	if e.bin = os.Getenv("GUICHET_FIELD_BIN"); e.bin != "" {
		return e
	}
	e.bin = filepath.Join(dir, "guichet")
	// The build has its own bound: on a loaded machine it may take longer than a run,
	// and a slow compiler says nothing about the deployment.
	bctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(bctx, "go", "build", "-o", e.bin, "./cmd/guichet")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (e *env) chownGuichet(path string) {
	uid, _ := strconv.Atoi(e.guichet.Uid)
	gid, _ := strconv.Atoi(e.guichet.Gid)
	must(e.t, os.Chown(path, uid, gid))
}

// writeGuichetConf writes the documented configuration file with its own data folder,
// LMTP port and relay port (the test's Postfix listens on a free port, not 25).
func (e *env) writeGuichetConf(snippet string) {
	data := filepath.Join(e.dir, "data")
	must(e.t, os.Mkdir(data, 0o750))
	e.chownGuichet(data)
	lmtpPort := freePort(e.t)
	kv, err := ConfValues(snippet)
	must(e.t, err)
	// Only the ports change: the documented relay and listener must be the loopback
	// Postfix and a loopback listener, as the test runs them.
	for _, p := range kv {
		if p[0] == "relay" && p[1] != "smtp://127.0.0.1:25" {
			e.t.Fatalf("the documented relay is %q, not the local Postfix smtp://127.0.0.1:25", p[1])
		}
		if p[0] == "smtp-addr" {
			if !strings.HasPrefix(p[1], "127.0.0.1:") {
				e.t.Fatalf("the documented smtp-addr %q is not on loopback", p[1])
			}
			e.docSMTPAddr = p[1]
		}
	}
	replace := map[string]string{
		"data-dir":  data,
		"smtp-addr": fmt.Sprintf("127.0.0.1:%d", lmtpPort),
		"relay":     fmt.Sprintf("smtp://127.0.0.1:%d", e.pfPort),
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, l := range strings.Split(snippet, "\n") {
		name, _, ok := strings.Cut(l, "=")
		name = strings.TrimSpace(name)
		if v, change := replace[name]; ok && change && !strings.HasPrefix(name, "#") {
			l = name + " = " + v
			seen[name] = true
		}
		b.WriteString(l + "\n")
	}
	for name := range replace {
		if !seen[name] {
			e.t.Fatalf("the documented guichet.conf has no %s line (%v)", name, kv)
		}
	}
	// As the docs install it: mode 0640, owner root, group guichet.
	e.conf = filepath.Join(e.dir, "guichet.conf")
	must(e.t, os.WriteFile(e.conf, []byte(b.String()), 0o640))
	gid, _ := strconv.Atoi(e.guichet.Gid)
	must(e.t, os.Chown(e.conf, 0, gid))
	must(e.t, os.Chmod(e.conf, 0o640))
	e.t.Logf("guichet.conf:\n%s", b.String())
}

// lmtpAddr is the smtp-addr the configuration file now names.
func (e *env) lmtpAddr() string {
	b, err := os.ReadFile(e.conf)
	must(e.t, err)
	kv, err := ConfValues(string(b))
	must(e.t, err)
	for _, p := range kv {
		if p[0] == "smtp-addr" {
			return p[1]
		}
	}
	e.t.Fatal("no smtp-addr")
	return ""
}

// docPaths changes the documented paths into this run's.
func (e *env) docPaths(s string) string {
	return strings.NewReplacer(
		"/etc/postfix/", e.pfConf+"/",
		"/usr/local/bin/guichet", e.bin,
		"/etc/guichet/guichet.conf", e.conf,
	).Replace(s)
}

// writePostfix makes a private Postfix instance: the test's own base main.cf (loopback
// only, no DNS, local Maildir mailboxes for the requester and the agent, a self-signed
// certificate for STARTTLS like Debian's snake-oil one, everything else refused), then
// the documented main.cf lines, transport map and, for the pipe, master.cf service.
func (e *env) writePostfix(snip map[string]string, transport string) {
	t := e.t
	e.pfConf = filepath.Join(e.dir, "postfix")
	queue := filepath.Join(e.dir, "queue")
	data := filepath.Join(e.dir, "pfdata")
	e.mailBase = filepath.Join(e.dir, "mail")
	e.pfLog = filepath.Join(e.dir, "postfix.log")
	for _, d := range []string{e.pfConf, queue, data, e.mailBase} {
		must(t, os.Mkdir(d, 0o755))
	}
	pf, err := user.Lookup("postfix")
	must(t, err)
	pfUID, _ := strconv.Atoi(pf.Uid)
	must(t, os.Chown(data, pfUID, -1))
	vm, err := user.Lookup("guichetvmail")
	if err != nil {
		t.Fatalf("user guichetvmail (owner of the test's mailboxes; .ci/postfix.sh creates it): %v", err)
	}
	vmUID, _ := strconv.Atoi(vm.Uid)
	vmGID, _ := strconv.Atoi(vm.Gid)
	must(t, os.Chown(e.mailBase, vmUID, vmGID))
	cert, key := filepath.Join(e.pfConf, "cert.pem"), filepath.Join(e.pfConf, "key.pem")
	writeSelfSigned(t, cert, key)

	base := fmt.Sprintf(`# The field test's private instance: loopback only, no DNS, local mailboxes.
compatibility_level = 3.6
queue_directory = %[1]s
data_directory = %[2]s
maillog_file_prefixes = %[3]s
maillog_file = %[4]s
myhostname = mx.example.org
mydomain = example.org
myorigin = example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_host_lookup = native
lmtp_host_lookup = native
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
relayhost =
alias_maps =
alias_database =
default_transport = error:5.1.2 nothing leaves the field test
relay_transport = error:5.1.2 nothing leaves the field test
virtual_mailbox_domains = client.example.net, example.org
virtual_mailbox_base = %[5]s
virtual_mailbox_maps = texthash:%[6]s/vmailbox
virtual_uid_maps = static:%[7]d
virtual_gid_maps = static:%[8]d
smtpd_tls_security_level = may
smtpd_tls_cert_file = %[9]s
smtpd_tls_key_file = %[10]s
smtpd_tls_loglevel = 1
smtpd_banner = $myhostname ESMTP
`, queue, data, e.dir, e.pfLog, e.mailBase, e.pfConf, vmUID, vmGID, cert, key)
	mainCF := base + "\n# From docs/deploy.md:\n" + e.docPaths(snip[SnipMainCF])
	must(t, os.WriteFile(filepath.Join(e.pfConf, "main.cf"), []byte(mainCF), 0o644))
	must(t, os.WriteFile(filepath.Join(e.pfConf, "vmailbox"), []byte(
		requesterAddr+" client.example.net/requester/\n"+agentAddr+" example.org/agent/\n"), 0o644))

	// master.cf: Debian's stock one, without chroot (the private queue has no copy of
	// /etc), smtpd on the test's port, and the documented pipe service.
	stock, err := os.ReadFile("/usr/share/postfix/master.cf.dist")
	must(t, err)
	var m strings.Builder
	smtpd := false
	for _, l := range strings.Split(string(stock), "\n") {
		f := strings.Fields(l)
		if len(f) >= 8 && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, " ") {
			if f[0] == "smtp" && f[1] == "inet" {
				l = fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", e.pfPort)
				smtpd = true
			} else if f[4] == "y" {
				f[4] = "n"
				l = strings.Join(f, " ")
			}
		}
		m.WriteString(l + "\n")
	}
	if !smtpd {
		t.Fatal("Debian's master.cf.dist has no smtp inet service")
	}
	if transport == "pipe" {
		m.WriteString("# From docs/deploy.md:\n" + e.docPaths(snip[SnipMasterPipe]))
	}
	must(t, os.WriteFile(filepath.Join(e.pfConf, "master.cf"), []byte(m.String()), 0o644))

	tr := snip[SnipTransportLMTP]
	if transport == "pipe" {
		tr = snip[SnipTransportPipe]
	} else {
		tr = strings.ReplaceAll(tr, e.docSMTPAddr, e.lmtpAddr())
	}
	trPath := filepath.Join(e.pfConf, "transport")
	must(t, os.WriteFile(trPath, []byte(tr), 0o644))
	e.run("postmap", "-c", e.pfConf, trPath)
	t.Logf("main.cf (documented part):\n%s\ntransport:\n%s", e.docPaths(snip[SnipMainCF]), tr)
}

func writeSelfSigned(t *testing.T, certPath, keyPath string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.example.org"},
		DNSNames:     []string{"mx.example.org"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	must(t, err)
	kd, err := x509.MarshalECPrivateKey(k)
	must(t, err)
	must(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	must(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600))
}

// run runs a command as root and fails the test on error.
func (e *env) run(name string, args ...string) string {
	e.t.Helper()
	out, err := exec.CommandContext(e.ctx, name, args...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (e *env) startPostfix() {
	e.run("postfix", "-c", e.pfConf, "start")
	e.t.Cleanup(func() {
		// Not e.ctx: it may be over by now, and the instance must stop in any case.
		out, err := exec.Command("postfix", "-c", e.pfConf, "stop").CombinedOutput()
		if err != nil {
			e.t.Logf("postfix stop: %v %s", err, out)
		}
		if e.t.Failed() {
			b, _ := os.ReadFile(e.pfLog)
			e.t.Logf("Postfix log:\n%s", b)
		}
	})
	waitListening(e.t, e.ctx, fmt.Sprintf("127.0.0.1:%d", e.pfPort))
}

// waitListening waits until an SMTP or LMTP server at addr greets, and leaves as a
// polite client does (QUIT), so that the wait itself leaves no error in a log.
func waitListening(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	for {
		err := greets(addr)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never greeted: %v", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func greets(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	tc := textproto.NewConn(c)
	if _, _, err := tc.ReadResponse(220); err != nil {
		return err
	}
	id, err := tc.Cmd("QUIT")
	if err != nil {
		return err
	}
	tc.StartResponse(id)
	defer tc.EndResponse(id)
	_, _, err = tc.ReadResponse(221)
	return err
}

// asGuichet makes cmd run as the guichet user, as the docs say every command runs.
func (e *env) asGuichet(cmd *exec.Cmd) {
	uid, _ := strconv.Atoi(e.guichet.Uid)
	gid, _ := strconv.Atoi(e.guichet.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Dir = e.dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + e.dir}
}

// guichetCmd runs an admin command with the configuration file and returns its stdout.
func (e *env) guichetCmd(args ...string) string {
	e.t.Helper()
	cmd := exec.CommandContext(e.ctx, e.bin, append(args, "--config", e.conf)...)
	e.asGuichet(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("guichet %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// setup runs the documented once-only commands (migrate, user add) as user guichet with
// the test's configuration file; the agent they add must be the test's agent.
func (e *env) setup(snippet string) {
	cmds, err := Commands(snippet)
	must(e.t, err)
	var agent bool
	for _, c := range cmds {
		if c[0] != "guichet" || len(c) < 2 {
			e.t.Fatalf("the set-up runs %q, not a guichet command", c)
		}
		if len(c) > 3 && c[1] == "user" && c[2] == "add" && c[3] == agentAddr {
			agent = true
		}
		e.guichetCmd(c[1:]...)
	}
	if !agent {
		e.t.Fatalf("the documented set-up adds no agent %s: %q", agentAddr, cmds)
	}
}

// startServe runs the documented serve command, with the test's binary and
// configuration file and a free portal port (8080 may be taken on a shared machine).
func (e *env) startServe(snippet string) {
	var line string
	for _, l := range strings.Split(snippet, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			line = l
			break
		}
	}
	f := strings.Fields(strings.ReplaceAll(line, "/etc/guichet/guichet.conf", e.conf))
	if len(f) < 2 || f[0] != "guichet" || f[1] != "serve" {
		e.t.Fatalf("the serve snippet is not a guichet serve command: %q", line)
	}
	args := append(f[1:], "--http-addr", fmt.Sprintf("127.0.0.1:%d", freePort(e.t)))
	cmd := exec.Command(e.bin, args...)
	e.asGuichet(cmd)
	logf, err := os.Create(filepath.Join(e.dir, "serve.log"))
	must(e.t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(e.t, cmd.Start())
	e.t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if e.t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			e.t.Logf("guichet serve log:\n%s", b)
		}
	})
	waitListening(e.t, e.ctx, e.lmtpAddr())
}

// submit hands a message to Postfix's smtpd, as a mail client's submission would.
func (e *env) submit(from, to string, msg string) {
	e.t.Helper()
	if err := sendPlain(fmt.Sprintf("127.0.0.1:%d", e.pfPort), from, to, strings.ReplaceAll(msg, "\n", "\r\n")); err != nil {
		e.t.Fatalf("submitting to Postfix as %s: %v", from, err)
	}
}

// submitEnvelope sends msg to rcpt, an address its header does not name (a Bcc), and
// to the sender's own mailbox as a client keeps a copy of what it sent to its To.
func (e *env) submitEnvelope(from, rcpt, msg string) {
	e.t.Helper()
	if err := sendPlain(fmt.Sprintf("127.0.0.1:%d", e.pfPort), from, rcpt, strings.ReplaceAll(msg, "\n", "\r\n"), from); err != nil {
		e.t.Fatalf("submitting to Postfix as %s: %v", from, err)
	}
}

// sendPlain is an SMTP transaction without STARTTLS (net/smtp.SendMail would insist
// on a verified certificate), so that every TLS session in Postfix's log is Guichet's.
func sendPlain(addr, from, to, msg string, more ...string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.net"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rcpt := range append([]string{to}, more...) {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// mailbox returns the messages delivered to a local Maildir, oldest first.
func (e *env) mailbox(box string) []*letter {
	dir := filepath.Join(e.mailBase, box, "new")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(ents))
	for _, d := range ents {
		names = append(names, d.Name())
	}
	// Maildir names start with the delivery time in seconds, then a sequence: sort on
	// the modification time, then the name.
	sort.Slice(names, func(i, j int) bool {
		a, _ := os.Stat(filepath.Join(dir, names[i]))
		b, _ := os.Stat(filepath.Join(dir, names[j]))
		if a != nil && b != nil && !a.ModTime().Equal(b.ModTime()) {
			return a.ModTime().Before(b.ModTime())
		}
		return names[i] < names[j]
	})
	var out []*letter
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		must(e.t, err)
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			e.t.Fatalf("%s/%s: %v", box, n, err)
		}
		rest, err := io.ReadAll(m.Body)
		must(e.t, err)
		out = append(out, &letter{Header: m.Header, Body: rest})
	}
	return out
}

// letter is a delivered message, its body kept to be read more than once.
type letter struct {
	Header mail.Header
	Body   []byte
}

// waitMailbox waits until box holds n messages and returns them.
func (e *env) waitMailbox(box string, n int, what string) []*letter {
	e.t.Helper()
	for {
		if ms := e.mailbox(box); len(ms) >= n {
			return ms
		}
		e.failOnTrouble(what)
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("%s: %s has %d messages, want %d", what, box, len(e.mailbox(box)), n)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// troubleRe is a Postfix delivery that did not succeed: what a wait for mail would
// otherwise only show as a timeout, long after Postfix said why.
var troubleRe = regexp.MustCompile(`status=(deferred|bounced)|fatal:|panic:`)

// failOnTrouble ends the test at once when Postfix's log shows a failed delivery.
func (e *env) failOnTrouble(what string) {
	e.t.Helper()
	b, err := os.ReadFile(e.pfLog)
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		if troubleRe.MatchString(l) {
			e.t.Fatalf("%s: Postfix could not deliver:\n%s", what, l)
		}
	}
}

// waitLetter waits until box holds a message that ok accepts and returns it.
func (e *env) waitLetter(box, what string, ok func(*letter) bool) *letter {
	e.t.Helper()
	for {
		for _, m := range e.mailbox(box) {
			if ok(m) {
				return m
			}
		}
		e.failOnTrouble(what)
		select {
		case <-e.ctx.Done():
			e.t.Fatalf("%s: not in %s (%d messages)", what, box, len(e.mailbox(box)))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func body(t *testing.T, m *letter) string {
	b, err := readAllQP(&mail.Message{Header: m.Header, Body: bytes.NewReader(m.Body)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// showTicket is `guichet ticket show KEY --json`.
func (e *env) showTicket(key string) map[string]any {
	var m map[string]any
	out := e.guichetCmd("ticket", "show", key, "--json")
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		e.t.Fatalf("ticket show %s --json: %v\n%s", key, err, out)
	}
	return m
}

// waitTicket polls the ticket until ok says yes.
func (e *env) waitTicket(key, what string, ok func(map[string]any) bool) map[string]any {
	e.t.Helper()
	for {
		tk := e.showTicket(key)
		if ok(tk) {
			return tk
		}
		e.failOnTrouble(what)
		// Stop a poll early enough that the last look is not cut by the time box.
		if dl, _ := e.ctx.Deadline(); time.Until(dl) < 5*time.Second {
			e.t.Fatalf("%s: not seen in time; ticket %s is %v", what, key, tk)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func comments(tk map[string]any) []map[string]any {
	cs, _ := tk["comments"].([]any)
	var out []map[string]any
	for _, c := range cs {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

var keyRe = regexp.MustCompile(`\[#([A-Z0-9]+-[0-9]+)\]`)

// replyTarget is the address a client's Reply goes to.
func replyTarget(t *testing.T, m *letter) string {
	target := m.Header.Get("Reply-To")
	if target == "" {
		target = m.Header.Get("From")
	}
	a, err := mail.ParseAddress(target)
	if err != nil {
		t.Fatalf("reply target %q: %v", target, err)
	}
	return a.Address
}

// reply builds what a mail client sends on "Reply": to the Reply-To (else From),
// "Re: " once, In-Reply-To and References, the text on top and the original quoted
// under an attribution line.
func reply(t *testing.T, from, fromName string, orig *letter, text, msgID string) (to, raw string) {
	h := orig.Header
	target := h.Get("Reply-To")
	if target == "" {
		target = h.Get("From")
	}
	addrs, err := mail.ParseAddressList(target)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("reply target %q: %v", target, err)
	}
	subject, err := new(mimeDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + subject
	}
	id := h.Get("Message-ID")
	refs := strings.TrimSpace(h.Get("References") + " " + id)
	origFrom, _ := new(mimeDecoder).DecodeHeader(h.Get("From"))
	var quoted strings.Builder
	for _, l := range strings.Split(strings.TrimRight(body(t, orig), "\n"), "\n") {
		quoted.WriteString("> " + l + "\n")
	}
	raw = fmt.Sprintf("From: %s <%s>\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: %s\nIn-Reply-To: %s\nReferences: %s\n"+
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n\nLe lun. 7 déc. 2026 à 09:12, %s a écrit :\n%s",
		fromName, from, addrs[0].String(), mimeWord(subject), time.Now().Format(time.RFC1123Z), msgID, id, refs,
		text, origFrom, quoted.String())
	return addrs[0].Address, raw
}

// converse plays the people's part: a request, its confirmation, the requester's reply
// from a mail client, the agent's notification and reply with a command, the answer.
func (e *env) converse() {
	t := e.t
	e.submit(requesterAddr, supportAddr, "From: Jeanne Martin <"+requesterAddr+">\nTo: Support <"+supportAddr+">\n"+
		"Subject: =?UTF-8?Q?Tableau_num=C3=A9rique_en_panne?=\nDate: "+time.Now().Format(time.RFC1123Z)+"\n"+
		"Message-ID: <field-1@client.example.net>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"+
		"Content-Transfer-Encoding: 8bit\n\nBonjour,\nle tableau numérique de la salle 12 ne s'allume plus.\nJeanne\n")

	conf := e.waitMailbox("client.example.net/requester", 1, "the confirmation")[0]
	subj, _ := new(mimeDecoder).DecodeHeader(conf.Header.Get("Subject"))
	km := keyRe.FindStringSubmatch(subj)
	if km == nil {
		t.Fatalf("confirmation subject %q has no [#KEY]", subj)
	}
	key := km[1]
	if rt := conf.Header.Get("Reply-To"); !strings.Contains(rt, "@support.example.org") {
		t.Fatalf("confirmation Reply-To %q is not at the support domain (the pipe's @localhost of issue 11)", rt)
	}
	if id := conf.Header.Get("Message-ID"); !strings.HasSuffix(id, "@support.example.org>") {
		t.Errorf("confirmation Message-ID %q is not at the support domain", id)
	}
	if b := body(t, conf); !strings.Contains(b, "https://support.example.org") {
		t.Errorf("confirmation link is not the public URL:\n%s", b)
	}
	notif := e.waitMailbox("example.org/agent", 1, "the agent's notification")[0]
	t.Logf("ticket %s: confirmation and notification delivered", key)

	// The requester answers the confirmation from a mail client.
	to, raw := reply(t, requesterAddr, "Jeanne Martin", conf, "J'ai essayé une autre prise : toujours rien.", "<field-2@client.example.net>")
	e.submit(requesterAddr, to, raw)
	e.waitTicket(key, "the requester's reply as a comment", func(tk map[string]any) bool {
		for _, c := range comments(tk) {
			if b, _ := c["body"].(string); strings.Contains(b, "autre prise") {
				if strings.Contains(b, "a écrit") || strings.Contains(b, "> ") {
					t.Errorf("the comment kept the quote: %q", b)
				}
				return true
			}
		}
		return false
	})

	// A note sent to the ticket's address by Bcc alone: the envelope is all that says
	// where it goes (no key in the subject, no In-Reply-To), by LMTP as by the pipe.
	signed := replyTarget(t, conf)
	e.submitEnvelope(requesterAddr, signed, "From: Jeanne Martin <"+requesterAddr+">\nTo: Jeanne Martin <"+requesterAddr+">\n"+
		"Subject: Note pour le support\nDate: "+time.Now().Format(time.RFC1123Z)+"\nMessage-ID: <field-bcc@client.example.net>\n"+
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"+
		"Le voyant du boîtier clignote en orange.\n")
	e.waitTicket(key, "the Bcc note as a comment (the envelope recipient)", func(tk map[string]any) bool {
		for _, c := range comments(tk) {
			if b, _ := c["body"].(string); strings.Contains(b, "voyant du boîtier") {
				return true
			}
		}
		return false
	})
	e.waitMailbox("client.example.net/requester", 2, "the copy of the Bcc note in the requester's own mailbox")

	// The agent answers the notification with a command.
	before := e.showTicket(key)["status"]
	to, raw = reply(t, agentAddr, "Alice Agent", notif, "#statut waiting\nPouvez-vous vérifier le câble d'alimentation ?", "<field-3@example.org>")
	e.submit(agentAddr, to, raw)
	tk := e.waitTicket(key, "the agent's #statut", func(tk map[string]any) bool { return tk["status"] == "waiting" })
	if before == "waiting" {
		t.Fatalf("the status was already waiting before the agent's command")
	}
	var agentComment bool
	for _, c := range comments(tk) {
		if b, _ := c["body"].(string); strings.Contains(b, "câble") {
			agentComment = true
			if strings.Contains(b, "#statut") {
				t.Errorf("the agent's comment kept the command: %q", b)
			}
		}
	}
	if !agentComment {
		t.Fatalf("no agent comment: %v", tk["comments"])
	}
	answer := e.waitLetter("client.example.net/requester", "the agent's answer", func(m *letter) bool {
		return strings.Contains(body(t, m), "câble")
	})
	if b := body(t, answer); strings.Contains(b, "#statut") {
		t.Errorf("the answer shows the agent's command:\n%s", b)
	}
}

// checkPostfixClean: Postfix's queue drains and its log shows no deferred or bounced
// mail; the inbound went through the documented transport, and Guichet's outbound
// mail used STARTTLS with the self-signed certificate.
func (e *env) checkPostfixClean(transport string) {
	t := e.t
	for {
		out := e.run("postqueue", "-c", e.pfConf, "-j")
		if strings.TrimSpace(out) == "" {
			break
		}
		select {
		case <-e.ctx.Done():
			t.Fatalf("Postfix's queue is not empty:\n%s", out)
		case <-time.After(300 * time.Millisecond):
		}
	}
	b, err := os.ReadFile(e.pfLog)
	must(t, err)
	log := string(b)
	for _, bad := range []string{"status=deferred", "status=bounced", "fatal:", "panic:"} {
		if strings.Contains(log, bad) {
			t.Errorf("Postfix's log has %q:\n%s", bad, grepLines(log, bad))
		}
	}
	via := "relay=" + "127.0.0.1[127.0.0.1]:" + strings.TrimPrefix(e.lmtpAddr(), "127.0.0.1:")
	if transport == "pipe" {
		via = "relay=guichet"
	}
	if n := strings.Count(grepLines(log, "to=<support"), via); n < 3 {
		t.Errorf("%d deliveries to the support domain %s, want 3:\n%s", n, via, grepLines(log, "to=<support"))
	}
	// Guichet's own complaints: a relay that refuses STARTTLS's certificate shows here
	// (a WARN and retries), not in Postfix's log.
	if b, err := os.ReadFile(filepath.Join(e.dir, "serve.log")); err == nil {
		if bad := grepLines(string(b), "level=WARN") + grepLines(string(b), "level=ERROR"); bad != "" {
			t.Errorf("guichet serve complained:\n%s", bad)
		}
	}
	if !strings.Contains(log, "TLS connection established from localhost[127.0.0.1]") {
		t.Errorf("Guichet's outbound mail did not use STARTTLS:\n%s", grepLines(log, "smtpd"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
