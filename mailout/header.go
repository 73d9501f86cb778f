package mailout

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// buildHeader writes the headers of an outbound mail.
func buildHeader(m *ticket.OutboxMail, r templates.Rendered, opt BuildOptions) (gomail.Header, error) {
	var h gomail.Header
	if m == nil {
		return h, errors.New("mailout: build: no mail")
	}
	from, err := checkAddress(opt.From)
	if err != nil {
		return h, fmt.Errorf("mailout: build %d: support address: %w", m.ID, err)
	}
	to, err := checkAddress(m.To.Email)
	if err != nil {
		return h, fmt.Errorf("mailout: build %d: recipient: %w", m.ID, err)
	}
	replyTo := from
	if m.ReplyTo != "" {
		if replyTo, err = checkAddress(m.ReplyTo); err != nil {
			return h, fmt.Errorf("mailout: build %d: reply-to: %w", m.ID, err)
		}
	}
	ids := append([]string{m.MessageID, m.InReplyTo}, m.References...)
	for _, id := range ids {
		if err := checkMsgID(id); err != nil {
			return h, fmt.Errorf("mailout: build %d: %w", m.ID, err)
		}
	}
	loop := opt.LoopHeader
	if loop == "" {
		loop = DefaultLoopHeader
	}
	if err := checkHeaderName(loop); err != nil {
		return h, fmt.Errorf("mailout: build %d: %w", m.ID, err)
	}
	date := opt.Date
	if date.IsZero() {
		date = time.Now()
	}
	desk := oneLine(m.Data.DeskName)
	if desk == "" {
		desk = "Guichet"
	}
	fromName := desk
	if c := m.Data.Comment; m.Kind == ticket.MailComment && c != nil && c.AuthorRole.IsStaff() {
		if name := oneLine(c.Author.Name); name != "" {
			fromName = name + " — " + desk
		}
	}
	auto := "auto-generated"
	if m.Kind == ticket.MailConfirmation {
		auto = "auto-replied"
	}
	refs := append([]string(nil), m.References...)
	if m.InReplyTo != "" && !contains(refs, m.InReplyTo) {
		refs = append(refs, m.InReplyTo)
	}
	subject := oneLine(r.Subject)
	if subject == "" {
		return h, fmt.Errorf("mailout: build %d: empty subject", m.ID)
	}

	// go-message writes the last field set first: set them bottom up.
	h.Set(loop, from)
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set("Auto-Submitted", auto)
	h.SetAddressList("Reply-To", []*gomail.Address{{Name: desk, Address: replyTo}})
	h.SetMsgIDList("References", refs)
	if m.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{m.InReplyTo})
	}
	if m.MessageID != "" {
		h.SetMessageID(m.MessageID)
	} else if err := h.GenerateMessageIDWithHostname(domainOf(from)); err != nil {
		return h, fmt.Errorf("mailout: build %d: %w", m.ID, err)
	}
	h.SetSubject(subject)
	h.SetAddressList("To", []*gomail.Address{{Name: oneLine(m.To.Name), Address: to}})
	h.SetAddressList("From", []*gomail.Address{{Name: fromName, Address: from}})
	h.SetDate(date)
	return h, nil
}

// checkAddress accepts a bare addr-spec (user@domain) and nothing else.
func checkAddress(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("empty address")
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return "", fmt.Errorf("invalid address %q", addr)
	}
	return addr, nil
}

// checkMsgID accepts an empty id or an id-left@id-right without brackets, spaces or
// control characters.
func checkMsgID(id string) error {
	if id == "" {
		return nil
	}
	if !strings.Contains(id, "@") || strings.ContainsFunc(id, func(r rune) bool {
		return r <= ' ' || r == '<' || r == '>' || r == 0x7f
	}) {
		return fmt.Errorf("invalid message id %q", id)
	}
	return nil
}

func checkHeaderName(name string) error {
	for _, r := range name {
		if r <= ' ' || r > '~' || r == ':' {
			return fmt.Errorf("invalid header name %q", name)
		}
	}
	return nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}
