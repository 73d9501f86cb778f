package parse

import (
	"context"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/guichet/guichet/ticket"
)

const (
	// dkimTimeout bounds our own DKIM check, DNS lookups included.
	dkimTimeout = 10 * time.Second
	// dkimMaxSignatures is the number of signatures verified at most.
	dkimMaxSignatures = 5
)

// checkDKIM verifies the DKIM signatures of the message msg reads (RFC 6376), looking public keys
// up with lookup (nil: the system resolver). The result recorded is an aligned pass,
// else any pass, else the first signature's result; "none" without a signature.
func checkDKIM(ctx context.Context, msg io.Reader, from string, lookup func(context.Context, string) ([]string, error)) ticket.Auth {
	a := ticket.Auth{Source: authSourceCheck, DKIM: "none"}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupTXT
	}
	ctx, cancel := context.WithTimeout(ctx, dkimTimeout)
	defer cancel()
	opt := &dkim.VerifyOptions{
		LookupTXT:        func(domain string) ([]string, error) { return lookup(ctx, domain) },
		MaxVerifications: dkimMaxSignatures,
	}
	vs, err := dkim.VerifyWithOptions(msg, opt)
	if err != nil && len(vs) == 0 {
		a.DKIM = "permerror"
		if err == dkim.ErrTooManySignatures {
			a.DKIM = "none"
		}
		return a
	}
	var l []dkimOutcome
	for _, v := range vs {
		l = append(l, dkimOutcome{dkimResult(v.Err), strings.ToLower(v.Domain)})
	}
	if len(l) > 0 {
		a.DKIM, a.DKIMDomain = pickDKIM(l, from)
	}
	return a
}

// dkimResult maps a verification error to an RFC 8601 result.
func dkimResult(err error) string {
	switch {
	case err == nil:
		return "pass"
	case dkim.IsTempFail(err):
		return "temperror"
	case dkim.IsPermFail(err):
		return "permerror"
	}
	return "fail"
}
