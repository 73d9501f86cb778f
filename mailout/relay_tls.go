package mailout

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// TLSPolicy says how a RelaySender protects its sessions, as an MTA's TLS security
// level does (Postfix's smtp_tls_security_level).
type TLSPolicy int

const (
	// TLSAuto is TLSOpportunistic for a relay on a loopback address or "localhost" (the
	// local MTA, whose certificate is often self-signed, and whose traffic never leaves
	// the machine) and TLSVerify for any other: see TLSPolicy.For.
	TLSAuto TLSPolicy = iota
	// TLSVerify requires TLS (smtps, or STARTTLS offered) and a certificate valid for
	// the relay's host name under the system's roots (or RelayOptions.TLSConfig's).
	TLSVerify
	// TLSOpportunistic uses STARTTLS when the relay offers it, without checking its
	// certificate, and plain text when it does not.
	TLSOpportunistic
	// TLSNone never starts TLS, even when offered; smtps:// is refused with it.
	TLSNone
)

// ParseTLSPolicy reads auto, verify, opportunistic or none.
func ParseTLSPolicy(s string) (TLSPolicy, error) {
	switch s {
	case "auto", "":
		return TLSAuto, nil
	case "verify":
		return TLSVerify, nil
	case "opportunistic":
		return TLSOpportunistic, nil
	case "none":
		return TLSNone, nil
	}
	return TLSAuto, fmt.Errorf("mailout: relay TLS policy %q: auto, verify, opportunistic or none expected", s)
}

// String returns the policy's name, as ParseTLSPolicy reads it.
func (p TLSPolicy) String() string {
	switch p {
	case TLSVerify:
		return "verify"
	case TLSOpportunistic:
		return "opportunistic"
	case TLSNone:
		return "none"
	}
	return "auto"
}

// For returns the policy used with a relay at host: p itself, except that TLSAuto
// becomes TLSOpportunistic for a loopback host (127.0.0.0/8, ::1, "localhost") and
// TLSVerify for any other. A host name that resolves to a loopback address still counts
// as remote: what the name resolves to may change, the policy must not.
func (p TLSPolicy) For(host string) TLSPolicy {
	if p != TLSAuto {
		return p
	}
	if isLoopback(host) {
		return TLSOpportunistic
	}
	return TLSVerify
}

// certError explains a certificate that TLSVerify refused: no retry will cure it, the
// configuration must change. It stays a temporary failure (the mail waits for the fix,
// within Options.MaxAge) and counts against the relay on /healthz.
func certError(host string, err error) error {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if !errors.As(err, &ve) && !errors.As(err, &ua) && !errors.As(err, &hn) && !errors.As(err, &ci) {
		return fmt.Errorf("mailout: relay: TLS with %s: %w", host, err)
	}
	return fmt.Errorf("mailout: relay: the certificate of %s is not valid for it under --relay-tls verify "+
		"(a relay with a self-signed certificate, such as a stock Postfix, needs --relay-tls opportunistic, "+
		"or a certificate the system trusts): %w", host, err)
}
