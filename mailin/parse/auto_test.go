package parse

import (
	"net/textproto"
	"testing"
)

func TestDetectAutomatic(t *testing.T) {
	opt := Options{LoopValue: "support@example.org"}
	tests := []struct {
		name   string
		h      map[string]string
		env    string
		hasEnv bool
		want   bool
		reason string
	}{
		{"person", map[string]string{"From": "a@example.com"}, "a@example.com", true, false, ""},
		{"auto-submitted no", map[string]string{"Auto-Submitted": "no"}, "a@x", true, false, ""},
		{"auto-replied", map[string]string{"Auto-Submitted": "auto-replied"}, "a@x", true, true, "auto_submitted"},
		{"auto-generated with comment", map[string]string{"Auto-Submitted": "auto-generated (vacation)"}, "a@x", true, true, "auto_submitted"},
		{"precedence bulk", map[string]string{"Precedence": "bulk"}, "a@x", true, true, "precedence"},
		{"precedence list with list-id", map[string]string{"Precedence": "list", "List-Id": "<l.example.com>"}, "a@x", true, true, "precedence"},
		{"list-id alone", map[string]string{"List-Id": "<l.example.com>", "List-Unsubscribe": "<mailto:u@x>"}, "a@x", true, false, ""},
		{"precedence first-class", map[string]string{"Precedence": "first-class"}, "a@x", true, false, ""},
		{"x-autoreply", map[string]string{"X-Autoreply": "yes"}, "a@x", true, true, "x_autoreply"},
		{"x-autorespond", map[string]string{"X-Autorespond": "vacation"}, "a@x", true, true, "x_autoreply"},
		{"outlook normal mail", map[string]string{"X-Auto-Response-Suppress": "All", "Subject": "Question"}, "a@x", true, false, ""},
		{"outlook oof", map[string]string{"X-Auto-Response-Suppress": "All", "X-MS-Exchange-Inbox-Rules-Loop": "a@x"}, "a@x", true, true, "out_of_office"},
		{"oof subject", map[string]string{"X-Auto-Response-Suppress": "DR, RN, NRN, OOF, AutoReply", "Subject": "Réponse automatique : votre demande"}, "a@x", true, true, "out_of_office"},
		{"empty envelope", map[string]string{"From": "a@example.com"}, "", true, true, "empty_envelope_sender"},
		{"empty envelope <>", map[string]string{"From": "a@example.com"}, "<>", true, true, "empty_envelope_sender"},
		{"no envelope known", map[string]string{"From": "a@example.com"}, "", false, false, ""},
		{"return-path <> without envelope", map[string]string{"Return-Path": "<>"}, "", false, true, "empty_envelope_sender"},
		{"mailer-daemon", map[string]string{"From": "Mail Delivery System <MAILER-DAEMON@mx.example.com>"}, "x@y", true, true, "mailer_daemon"},
		{"postmaster", map[string]string{"From": "postmaster@example.com"}, "x@y", true, true, "mailer_daemon"},
		{"dsn", map[string]string{"Content-Type": "multipart/report; report-type=delivery-status; boundary=x"}, "x@y", true, true, "dsn"},
		{"mdn", map[string]string{"Content-Type": "multipart/report; report-type=disposition-notification; boundary=x"}, "x@y", true, true, "mdn"},
		{"our loop", map[string]string{"X-Guichet-Loop": "support@example.org"}, "x@y", true, true, "loop"},
		{"someone else's loop", map[string]string{"X-Guichet-Loop": "other@example.net"}, "x@y", true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := textproto.MIMEHeader{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			got, reason := detectAutomatic(h, tt.env, tt.hasEnv, opt, nil)
			if got != tt.want || reason != tt.reason {
				t.Errorf("got %v %q, want %v %q", got, reason, tt.want, tt.reason)
			}
		})
	}
}
