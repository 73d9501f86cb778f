package main

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"
)

// BenchmarkSMTPIntake drives `guichet serve` (in-process, SQLite, outbox relayed to a
// sink) over 8 SMTP connections with 2 KB requests: each op is one message answered 250,
// i.e. stored, turned into a ticket and its mail queued. Run with -cpuprofile to see
// where a message's time goes; cmd/guichet-load measures the same against a bare SMTP
// sink, out of process.
func BenchmarkSMTPIntake(b *testing.B) {
	h := startHarness(b, "--log-level", "error")
	body := strings.Repeat("Bonjour, depuis ce matin plusieurs enseignants n'arrivent plus à accéder à leur espace. ", 22)
	var n atomic.Int64
	b.SetParallelism(4) // 8 connections on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := smtp.Dial(h.smtpAddr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			i := n.Add(1)
			from := fmt.Sprintf("user%d@ecole.test", i)
			msg := fmt.Sprintf("From: %s\r\nTo: support@localhost\r\nSubject: Demande %d\r\nMessage-ID: <bench%d@ecole.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", from, i, i, body)
			if err := c.SendMail(from, []string{"support@localhost"}, strings.NewReader(msg)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
