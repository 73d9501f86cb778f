package mailin

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/guichet/guichet/internal/testcert"
)

// selfSigned returns a server config and a client config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	server, client = testcert.New(t)
	client.ServerName = "mx.guichet.test"
	return server, client
}

func TestSMTPSTARTTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	tests := []struct {
		name      string
		tls       *tls.Config
		wantOffer bool
	}{
		{"offered with a certificate", serverTLS, true},
		{"not offered without", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeDeliverer{}
			_, addr := startSMTP(t, SMTPOptions{Deliverer: fake, TLSConfig: tt.tls})
			c, err := smtp.Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello("client.test"); err != nil {
				t.Fatal(err)
			}
			for _, ext := range []string{"8BITMIME", "SMTPUTF8", "PIPELINING"} {
				if ok, _ := c.Extension(ext); !ok {
					t.Errorf("%s not offered", ext)
				}
			}
			if ok, _ := c.Extension("STARTTLS"); ok != tt.wantOffer {
				t.Fatalf("STARTTLS offered: %v, want %v", ok, tt.wantOffer)
			}
			if !tt.wantOffer {
				return
			}
			c, err = smtp.DialStartTLS(addr, clientTLS)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello("client.test"); err != nil {
				t.Fatal(err)
			}
			if state, ok := c.TLSConnectionState(); !ok || !state.HandshakeComplete {
				t.Fatal("no TLS after STARTTLS")
			}
			tx := smtpTx{from: "jeanne@example.org", to: []string{"support@localhost"}, msg: smtpTestMessage}
			if stage, err := smtpSendOn(c, tx); err != nil {
				t.Fatalf("%s: %v", stage, err)
			}
			got := fake.deliveries()
			if len(got) != 1 {
				t.Fatalf("%d deliveries", len(got))
			}
			checkDelivered(t, got[0], smtpTestMessage)
			if !strings.Contains(string(got[0].raw), " with ESMTPS\r\n") {
				t.Errorf("trace header does not say ESMTPS:\n%s", got[0].raw)
			}
		})
	}
}
