package ticket

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"net/url"
	"regexp"
	"strings"
)

var (
	deskKeyRe   = regexp.MustCompile(`^[A-Z][A-Z0-9]{1,15}$`)
	ticketKeyRe = regexp.MustCompile(`^([A-Z][A-Z0-9]{1,15})-([0-9]+)$`)
)

// tokenLen is the length of a reply-address token: 16 base32 characters, 80 bits.
const tokenLen = 16

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// replyToken is the HMAC of a ticket key and a recipient address.
func (s *Service) replyToken(key, recipient string) string {
	m := hmac.New(sha256.New, s.opt.Secret)
	m.Write([]byte(strings.ToUpper(key)))
	m.Write([]byte{0})
	m.Write([]byte(strings.ToLower(strings.TrimSpace(recipient))))
	return strings.ToLower(b32.EncodeToString(m.Sum(nil))[:tokenLen])
}

// ReplyAddress is the signed reply address of a ticket for one recipient:
// support+KEY.token@domain. A reply through it proves its sender received our mail.
func (s *Service) ReplyAddress(key, recipient string) string {
	return s.local + "+" + strings.ToLower(key) + "." + s.replyToken(key, recipient) + "@" + s.domain
}

// parseReplyAddress finds the key and token in support+key.token@domain.
func (s *Service) parseReplyAddress(addr string) (key, token string, ok bool) {
	local, domain, found := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if !found || domain != s.domain {
		return "", "", false
	}
	base, ext, found := strings.Cut(local, "+")
	if !found || base != s.local {
		return "", "", false
	}
	k, tok, found := strings.Cut(ext, ".")
	if !found || len(tok) != tokenLen {
		return "", "", false
	}
	k = strings.ToUpper(k)
	if !ticketKeyRe.MatchString(k) {
		return "", "", false
	}
	return k, tok, true
}

// VerifyReplyAddress reports whether addr is the signed reply address of a ticket for
// sender, and returns the ticket's key. The check is constant-time.
func (s *Service) VerifyReplyAddress(addr, sender string) (string, bool) {
	key, tok, ok := s.parseReplyAddress(addr)
	if !ok {
		return "", false
	}
	want := s.replyToken(key, sender)
	return key, hmac.Equal([]byte(tok), []byte(want))
}

// StopToken signs the link that stops mail about ticket key to email.
func (s *Service) StopToken(key, email string) string {
	return s.replyToken("stop:"+key, email)
}

// VerifyStopToken checks a StopToken in constant time.
func (s *Service) VerifyStopToken(key, email, token string) bool {
	return hmac.Equal([]byte(token), []byte(s.StopToken(key, email)))
}

// StopLink is the link, in every notification, that stops mail about a ticket.
func (s *Service) StopLink(key, email string) string {
	return s.opt.PublicURL + "/requests/" + strings.ToUpper(key) + "/stop?a=" + url.QueryEscape(NormalizeEmail(email)) + "&t=" + s.StopToken(key, email)
}

// Key derives a key for purpose from the shared signing secret, so that every instance
// signs alike (the portal's kept form files, say).
func (s *Service) Key(purpose string) []byte {
	m := hmac.New(sha256.New, s.opt.Secret)
	m.Write([]byte("guichet key: " + purpose))
	return m.Sum(nil)
}
