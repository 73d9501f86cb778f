package main

import (
	"log/slog"
	"sync"

	"github.com/guichet/guichet/mailin/parse"
	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// unquoter joins, for ticket.Options.Unquote, the templates (the text each mail we sent
// had) and mailin/parse (finding that text in a reply). A sent mail is rendered again
// from its outbox snapshot, the data it was rendered from when it went out, so no copy
// of each sent text is stored. The templates are read on first use: the administration
// commands that open the service never need them.
type unquoter struct {
	dir  string // --templates-dir
	log  *slog.Logger
	once sync.Once
	tpl  *templates.Templates
	err  error
}

// unquote returns the new part of a reply quoting one of sent, and true; false when no
// quote of those mails is found or they cannot be rendered (the generic rules then
// stand).
func (u *unquoter) unquote(text string, sent []ticket.OutboxMail) (string, bool) {
	u.once.Do(func() {
		u.tpl, u.err = templates.New(u.dir)
		if u.err != nil {
			u.log.Warn("templates unreadable: quotes of our own mail are left to the generic rules", slog.Any("error", u.err))
		}
	})
	if u.err != nil {
		return "", false
	}
	texts := make([]string, 0, len(sent))
	for i := range sent {
		r, err := u.tpl.RenderMail(&sent[i])
		if err != nil {
			u.log.Warn("cannot render a sent mail again to find its quote", "message_id", sent[i].MessageID, slog.Any("error", err))
			continue
		}
		texts = append(texts, r.Text)
	}
	return parse.StripSent(text, texts)
}
