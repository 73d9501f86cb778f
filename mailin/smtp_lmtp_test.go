package mailin

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestLMTPDelivery(t *testing.T) {
	rcpts := []string{"support@localhost", "support+AURAN1-13.abcd@localhost"}
	tests := []struct {
		name    string
		fake    *fakeDeliverer
		wantErr *smtp.SMTPError // for every recipient; nil for 250
	}{
		{"delivered", &fakeDeliverer{}, nil},
		{"temporary failure", &fakeDeliverer{err: errors.New("disk full")},
			&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}}},
		{"refused", &fakeDeliverer{err: Refuse("held")},
			&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}}},
		{"panic", &fakeDeliverer{panics: true},
			&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := startSMTP(t, SMTPOptions{Deliverer: tt.fake, LMTP: true})
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c := smtp.NewClientLMTP(conn)
			defer c.Close()
			if err := c.Hello("mta.test"); err != nil {
				t.Fatal(err)
			}
			if err := c.Mail("jeanne@example.org", nil); err != nil {
				t.Fatal(err)
			}
			for _, r := range rcpts {
				if err := c.Rcpt(r, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Rcpt("other@localhost", nil); err == nil {
				t.Fatal("other@localhost accepted")
			}
			w, err := c.Data()
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(smtpTestMessage))
			resp, err := w.CloseWithLMTPResponse()

			if tt.wantErr == nil {
				if err != nil || len(resp) != len(rcpts) {
					t.Fatalf("responses %v, error %v", resp, err)
				}
			} else {
				var lerr smtp.LMTPDataError
				if !errors.As(err, &lerr) || len(lerr) != len(rcpts) {
					t.Fatalf("error %v, want one per recipient", err)
				}
				for _, r := range rcpts {
					if e := lerr[r]; e == nil || e.Code != tt.wantErr.Code || e.EnhancedCode != tt.wantErr.EnhancedCode {
						t.Errorf("%s: %v, want %d %v", r, e, tt.wantErr.Code, tt.wantErr.EnhancedCode)
					}
				}
			}

			got := tt.fake.deliveries()
			if len(got) != 1 {
				t.Fatalf("%d deliveries, want exactly 1", len(got))
			}
			env := got[0].env
			if env.Channel != "lmtp" || env.From != "jeanne@example.org" || strings.Join(env.Recipients, ",") != strings.Join(rcpts, ",") {
				t.Errorf("envelope %+v", env)
			}
			if !strings.HasSuffix(string(got[0].raw), smtpTestMessage) || !strings.Contains(string(got[0].raw), " with LMTP; ") {
				t.Errorf("raw:\n%s", got[0].raw)
			}
		})
	}
}
