package mailout

import (
	"context"
	"strings"
	"testing"
)

func TestTLSPolicyFor(t *testing.T) {
	tests := []struct {
		policy TLSPolicy
		host   string
		want   TLSPolicy
	}{
		{TLSAuto, "127.0.0.1", TLSOpportunistic},
		{TLSAuto, "127.8.9.10", TLSOpportunistic},
		{TLSAuto, "::1", TLSOpportunistic},
		{TLSAuto, "localhost", TLSOpportunistic},
		{TLSAuto, "LocalHost.", TLSOpportunistic},
		{TLSAuto, "relay.example.org", TLSVerify},
		{TLSAuto, "localhost.example.org", TLSVerify}, // a name, whatever it resolves to
		{TLSAuto, "10.0.0.25", TLSVerify},
		{TLSAuto, "::ffff:192.0.2.1", TLSVerify},
		{TLSAuto, "", TLSVerify},
		{TLSVerify, "127.0.0.1", TLSVerify},
		{TLSOpportunistic, "relay.example.org", TLSOpportunistic},
		{TLSNone, "relay.example.org", TLSNone},
	}
	for _, tt := range tests {
		if got := tt.policy.For(tt.host); got != tt.want {
			t.Errorf("%s.For(%q) = %s, want %s", tt.policy, tt.host, got, tt.want)
		}
	}
}

func TestParseTLSPolicy(t *testing.T) {
	for _, name := range []string{"auto", "verify", "opportunistic", "none"} {
		p, err := ParseTLSPolicy(name)
		if err != nil || p.String() != name {
			t.Errorf("ParseTLSPolicy(%q) = %s, %v", name, p, err)
		}
	}
	for _, bad := range []string{"Verify", "may", "encrypt", "none\x00", "opportunistic "} {
		if _, err := ParseTLSPolicy(bad); err == nil {
			t.Errorf("ParseTLSPolicy(%q) accepted", bad)
		}
	}
	if _, err := NewRelaySender("smtps://relay.example.org", RelayOptions{TLS: TLSNone}); err == nil {
		t.Error("smtps:// with TLS policy none accepted")
	}
}

// TestRelayTLSPolicies sends through a real SMTP server on 127.0.0.1 that offers STARTTLS
// with a self-signed certificate, as Debian's Postfix does, under each policy.
func TestRelayTLSPolicies(t *testing.T) {
	srvTLS, _ := selfSigned(t)
	tests := []struct {
		name     string
		starttls bool // the server offers STARTTLS
		policy   TLSPolicy
		sent     bool
		tls      bool
		errHas   string
	}{
		{"auto on loopback takes any certificate", true, TLSAuto, true, true, ""},
		{"opportunistic takes any certificate", true, TLSOpportunistic, true, true, ""},
		{"verify refuses a self-signed certificate", true, TLSVerify, false, false, "--relay-tls opportunistic"},
		{"none sends in clear though STARTTLS is offered", true, TLSNone, true, false, ""},
		{"opportunistic without STARTTLS sends in clear", false, TLSOpportunistic, true, false, ""},
		{"auto on loopback without STARTTLS sends in clear", false, TLSAuto, true, false, ""},
		{"verify without STARTTLS sends nothing", false, TLSVerify, false, false, "STARTTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := sinkOptions{}
			if tt.starttls {
				o.startTLS = srvTLS
			}
			snk := startSink(t, o)
			s := relay(t, "smtp://"+snk.Addr, RelayOptions{TLS: tt.policy})
			defer s.Close()
			err := s.Send(context.Background(), "support@localhost", []string{"a@example.com"}, sampleBytes(t))
			got := snk.received()
			if !tt.sent {
				if err == nil || len(got) != 0 {
					t.Fatalf("sent under %s: err = %v, %d received", tt.policy, err, len(got))
				}
				if !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("error %q does not say %q", err, tt.errHas)
				}
				if !IsTemporary(err) {
					t.Error("a TLS refusal fails the mail for good: it must wait for the configuration's fix")
				}
				if !IsRelayFault(err) {
					t.Error("a TLS refusal does not count against the relay")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].TLS != tt.tls {
				t.Fatalf("received = %+v, want one mail with TLS %v", got, tt.tls)
			}
		})
	}
}

func TestRelayProbe(t *testing.T) {
	srvTLS, _ := selfSigned(t)
	snk := startSink(t, sinkOptions{startTLS: srvTLS, user: "u", pass: "p"})
	ctx := context.Background()
	if err := relay(t, "smtp://u:p@"+snk.Addr, RelayOptions{}).Probe(ctx); err != nil {
		t.Errorf("auto on loopback: %v", err)
	}
	if err := relay(t, "smtp://u:p@"+snk.Addr, RelayOptions{TLS: TLSVerify}).Probe(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("verify with a self-signed certificate: %v", err)
	}
	if err := relay(t, "smtp://u:wrong@"+snk.Addr, RelayOptions{}).Probe(ctx); err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("wrong password: %v", err)
	}
	if n := len(snk.received()); n != 0 {
		t.Errorf("a probe sent %d mails", n)
	}
}
