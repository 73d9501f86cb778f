// Package testimap connects tests to the IMAP server that .ci/dovecot.sh starts.
package testimap

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TLSConfig trusts the test server: its certificate is checked against
// GUICHET_TEST_IMAP_CA when set; without it the loopback server is trusted as it is.
func TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	ca := os.Getenv("GUICHET_TEST_IMAP_CA")
	if ca == "" {
		return &tls.Config{InsecureSkipVerify: true} // #nosec G402: a loopback test server
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool}
}

// Dial connects to rawURL (imap:// with STARTTLS or imaps://) and logs in with its user
// and password, trusting the server as TLSConfig does.
func Dial(t testing.TB, rawURL string) *imapclient.Client {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal("GUICHET_TEST_IMAP: unreadable URL")
	}
	opts := &imapclient.Options{TLSConfig: TLSConfig(t)}
	var c *imapclient.Client
	if u.Scheme == "imaps" {
		c, err = imapclient.DialTLS(u.Host, opts)
	} else {
		c, err = imapclient.DialStartTLS(u.Host, opts)
	}
	if err != nil {
		t.Fatalf("imap: connect to %s: %v", u.Host, err)
	}
	pass, _ := u.User.Password()
	if err := c.Login(u.User.Username(), pass).Wait(); err != nil {
		t.Fatalf("imap: login: %v", err)
	}
	return c
}
