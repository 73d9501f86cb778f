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
func newMetrics(svc *ticket.Service, in *mailin.Intake, pollers []*mailin.IMAPPoller, extra ...prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(extra...)
	taken := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "guichet_mail_taken_total", Help: "Inbound messages taken, by channel and outcome (stored: processing follows, see guichet_mail_processed_total; duplicate; failed: unparsable, kept).",
	}, []string{"channel", "outcome"})
	reg.MustRegister(taken)
	in.OnReceipt = func(env ticket.Envelope, r ticket.Receipt) {
		outcome := r.State
		if outcome == "pending" {
			outcome = "stored" // processing follows: guichet_mail_processed_total
		}
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
		Name: "guichet_intake_backlog",
		Help: "Messages stored (answered 250) and not yet processed by this instance.",
	}, func() float64 { return float64(svc.Backlog()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "guichet_intake_parked",
		Help: "Spooled messages (answered 250) that the database refused; kept in the spool and tried again every quarter of --stale-after.",
	}, func() float64 { return float64(svc.Parked()) }))
	reg.MustRegister(&processedCollector{svc: svc})
	reg.MustRegister(&slaCollector{svc: svc})
	reg.MustRegister(&statsCollector{svc: svc})
	for _, p := range pollers {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "guichet_imap_last_sync_timestamp_seconds",
			Help:        "When the IMAP poller last read its mailbox to the end (0 before the first time); now minus this is the IMAP lag.",
			ConstLabels: prometheus.Labels{"mailbox": p.Mailbox()},
		}, func() float64 {
			t := p.LastSync()
			if t.IsZero() {
				return 0
			}
			return float64(t.UnixNano()) / 1e9
		}))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// statsCollector reads the store's counts at each scrape.
type statsCollector struct {
	svc *ticket.Service
}

var (
	descInbound = prometheus.NewDesc("guichet_inbound_messages", "Stored inbound messages by state (failed and held ones need an operator).", []string{"state"}, nil)
	descOutbox  = prometheus.NewDesc("guichet_outbox_messages", "Outbound mails by state; failed ones were refused by the relay or given up.", []string{"state"}, nil)
	descRetry   = prometheus.NewDesc("guichet_outbox_retrying", "Pending mails whose last send failed temporarily.", nil, nil)
	descAge     = prometheus.NewDesc("guichet_outbox_oldest_pending_seconds", "Age of the oldest pending outbound mail.", nil, nil)
	descTickets = prometheus.NewDesc("guichet_tickets", "Tickets by status.", []string{"status"}, nil)
	descUp      = prometheus.NewDesc("guichet_stats_up", "1 when the store's counts could be read.", nil, nil)
)

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInbound, descOutbox, descRetry, descAge, descTickets, descUp} {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := c.svc.Stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for _, state := range []string{"processed", "failed", "held", "refused", "pending", "duplicate"} {
		ch <- prometheus.MustNewConstMetric(descInbound, prometheus.GaugeValue, float64(st.Inbound[state]), state)
	}
	for _, state := range []string{"pending", "sent", "failed"} {
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(st.Outbox[state]), state)
	}
	ch <- prometheus.MustNewConstMetric(descRetry, prometheus.GaugeValue, float64(st.OutboxRetrying))
	ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, st.OldestPending.Seconds())
	for _, status := range ticket.Statuses {
		ch <- prometheus.MustNewConstMetric(descTickets, prometheus.GaugeValue, float64(st.TicketsByStatus[status]), string(status))
	}
}

// processedCollector exports the outcomes of queued messages' processing.
type processedCollector struct {
	svc *ticket.Service
}

var descProcessed = prometheus.NewDesc("guichet_mail_processed_total",
	"Stored messages processed after their 250, by outcome (ticket_created, comment_added, held, failed, …).", []string{"outcome"}, nil)

func (c *processedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descProcessed }

func (c *processedCollector) Collect(ch chan<- prometheus.Metric) {
	for o, n := range c.svc.ProcessCounts() {
		ch <- prometheus.MustNewConstMetric(descProcessed, prometheus.CounterValue, float64(n), o)
	}
}

// slaCollector exports the SLA breaches this process recorded (each breach is recorded
// once, by the instance that found it).
type slaCollector struct {
	svc *ticket.Service
}

var descSLABreaches = prometheus.NewDesc("guichet_sla_breaches_total",
	"SLA targets missed, by measure (first_response, resolution), counted in the desk's business hours.", []string{"measure"}, nil)

func (c *slaCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descSLABreaches }

func (c *slaCollector) Collect(ch chan<- prometheus.Metric) {
	if c.svc.SLAPolicy() == nil {
		return
	}
	first, resolution := c.svc.SLABreaches()
	ch <- prometheus.MustNewConstMetric(descSLABreaches, prometheus.CounterValue, float64(first), ticket.SLAFirstResponse)
	ch <- prometheus.MustNewConstMetric(descSLABreaches, prometheus.CounterValue, float64(resolution), ticket.SLAResolution)
}
