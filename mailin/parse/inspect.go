package parse

import (
	"bytes"
	"context"

	"github.com/guichet/guichet/ticket"
)

// InspectResult is what `guichet inspect --json` prints: what Guichet makes of a mail.
// Automatic is an object {"value": bool, "reason": string} so that the reason travels
// with the flag.
type InspectResult struct {
	From        ticket.Address      `json:"from"`
	To          []ticket.Address    `json:"to"`
	Cc          []ticket.Address    `json:"cc"`
	Subject     string              `json:"subject"`
	Summary     string              `json:"summary"`
	MessageID   string              `json:"message_id"`
	ThreadKey   string              `json:"thread_key"`
	Automatic   InspectAutomatic    `json:"automatic"`
	Text        string              `json:"text"`
	Visible     string              `json:"visible"`
	QuoteCuts   []QuoteCut          `json:"quote_cuts"`
	HTML        string              `json:"html,omitempty"`
	Attachments []InspectAttachment `json:"attachments"`
	Warnings    []string            `json:"warnings"`
	Bounce      *ticket.Bounce      `json:"bounce,omitempty"`
	Auth        ticket.Auth         `json:"auth"`
}

// InspectAutomatic tells whether a mail is automatic, and why.
type InspectAutomatic struct {
	Value  bool   `json:"value"`
	Reason string `json:"reason"`
}

// InspectAttachment is one attachment as inspect shows it.
type InspectAttachment struct {
	Filename    string `json:"filename"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Inline      bool   `json:"inline"`
	SHA256      string `json:"sha256"`
	// Truncated: the mail ended inside this file; Size counts what was received.
	Truncated bool `json:"truncated,omitempty"`
}

// Inspect parses raw without storing anything (attachments are only hashed).
func Inspect(ctx context.Context, raw []byte, opt Options) (*InspectResult, error) {
	var cuts []QuoteCut
	in, err := message(ctx, bytes.NewReader(raw), int64(len(raw)), raw, HashOnly{}, opt, &cuts)
	if err != nil {
		return nil, err
	}
	r := newInspectResult(in)
	if cuts != nil {
		r.QuoteCuts = cuts
	}
	return r, nil
}

// newInspectResult presents a parsed mail. Lists are never null in its JSON.
func newInspectResult(in *ticket.Inbound) *InspectResult {
	r := &InspectResult{
		From: in.From, To: nonNil(in.To), Cc: nonNil(in.Cc),
		Subject: in.Subject, Summary: in.Summary, MessageID: in.MessageID, ThreadKey: in.ThreadKey,
		Automatic: InspectAutomatic{Value: in.Automatic, Reason: in.AutoReason},
		Text:      in.Text, Visible: in.Visible, HTML: in.HTML,
		Attachments: []InspectAttachment{}, Warnings: in.Warnings, Bounce: in.Bounce, QuoteCuts: []QuoteCut{},
		Auth: in.Auth,
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	for _, a := range in.Attachments {
		r.Attachments = append(r.Attachments, InspectAttachment{
			Filename: a.Filename, Size: a.Size, ContentType: a.ContentType, Inline: a.Inline, SHA256: a.SHA256,
			Truncated: a.Truncated,
		})
	}
	return r
}

func nonNil(l []ticket.Address) []ticket.Address {
	if l == nil {
		return []ticket.Address{}
	}
	return l
}
