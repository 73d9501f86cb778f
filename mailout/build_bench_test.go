package mailout

import (
	"strings"
	"testing"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// BenchmarkRenderBuild renders and builds a new ticket's two mails (the requester's
// confirmation and the agent's), a 2 KB description each: the outbox sender's work per
// mail besides the relay. Run with -benchmem: its allocations are a good part of the
// server's garbage under load.
func BenchmarkRenderBuild(b *testing.B) {
	tm, err := templates.New("")
	if err != nil {
		b.Fatal(err)
	}
	conf := sampleMail()
	conf.Data.Ticket.Description = strings.Repeat("Les élèves ne peuvent plus se connecter depuis ce matin. ", 36)
	agent := conf
	agent.Kind, agent.To = ticket.MailAgentNew, ticket.Address{Name: "Agent", Email: "agent@localhost"}
	agent.ToRole = ticket.RoleAgent
	mails := []ticket.OutboxMail{conf, agent}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := &mails[i%2]
		r, err := tm.RenderMail(m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Build(m, r, BuildOptions{From: "support@localhost"}); err != nil {
			b.Fatal(err)
		}
	}
}
