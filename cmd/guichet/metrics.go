package main

import (
	"context"
	"net/http"
	"time"

	"github.com/guichet/guichet/mailin"
	"github.com/guichet/guichet/ticket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newMetrics registers Guichet's metrics, and extra ones (the coordination's), on a
// registry of its own and returns its handler.
func newMetrics(svc *ticket.Service, in *mailin.Intake, extra ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
	taken := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "guichet_mail_taken_total", Help: "Inbound messages stored, by channel and outcome.",
	}, []string{"channel", "outcome"})
	reg.MustRegister(taken)
	in.OnReceipt = func(env ticket.Envelope, r ticket.Receipt) {
		outcome := r.State
		switch {
		case r.Duplicate:
			outcome = "duplicate"
		case r.Created:
			outcome = "ticket_created"
		case r.CommentID != 0:
			outcome = "comment_added"
		}
		taken.WithLabelValues(env.Channel, outcome).Inc()
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "guichet_outbox_pending", Help: "Outbound mails waiting to be sent.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := svc.OutboxPending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
