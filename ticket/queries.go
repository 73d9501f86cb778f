package ticket

import (
	"embed"
	"fmt"
	"io/fs"
	"reflect"
	"strings"

	"github.com/jmoiron/sqlx"
)

//go:embed queries*.sql
var queryFS embed.FS

// queries holds the core statements of the store, rebound for the driver. Each field
// names its query in queries.sql (see bindQueries). Other areas keep their statements in
// queries_<area>.sql with a struct of their own, bound together with this one.
type queries struct {
	DeskByKey             string `query:"desk-by-key"`
	InsertDesk            string `query:"insert-desk"`
	NextNumber            string `query:"next-number"`
	InsertInbound         string `query:"insert-inbound"`
	InsertInboundRaw      string `query:"insert-inbound-raw"`
	InboundByDedup        string `query:"inbound-by-dedup"`
	InboundDone           string `query:"inbound-done"`
	InboundFailed         string `query:"inbound-failed"`
	InboundToRetry        string `query:"inbound-to-retry"`
	InboundStale          string `query:"inbound-stale"`
	InboundList           string `query:"inbound-list"`
	InboundRaw            string `query:"inbound-raw"`
	UserByEmail           string `query:"user-by-email"`
	UserByID              string `query:"user-by-id"`
	EnsureUser            string `query:"ensure-user"`
	UpsertUser            string `query:"upsert-user"`
	UserBouncing          string `query:"user-bouncing"`
	StaffUsers            string `query:"staff-users"`
	SetBouncing           string `query:"set-bouncing"`
	UpsertEstab           string `query:"upsert-establishment"`
	Establishment         string `query:"establishment"`
	InsertTicket          string `query:"insert-ticket"`
	TicketByKey           string `query:"ticket-by-key"`
	TicketByID            string `query:"ticket-by-id"`
	TicketList            string `query:"ticket-list"`
	TicketSetStatus       string `query:"ticket-set-status"`
	TicketTouch           string `query:"ticket-touch"`
	InsertParticipant     string `query:"insert-participant"`
	Participants          string `query:"participants"`
	InsertComment         string `query:"insert-comment"`
	Comments              string `query:"comments"`
	InsertAttachment      string `query:"insert-attachment"`
	Attachments           string `query:"attachments"`
	InsertThreadMsg       string `query:"insert-thread-message"`
	ThreadMessage         string `query:"thread-message"`
	ThreadLastMessages    string `query:"thread-last-messages"`
	InsertOutbox          string `query:"insert-outbox"`
	InsertOutboxData      string `query:"insert-outbox-data"`
	CountRecentOutbox     string `query:"count-recent-outbox"`
	OutboxClaim           string `query:"outbox-claim"`
	OutboxSent            string `query:"outbox-sent"`
	OutboxSentMail        string `query:"outbox-sent-mail"`
	OutboxRelease         string `query:"outbox-release"`
	OutboxReleaseAll      string `query:"outbox-release-all"`
	OutboxReleaseInstance string `query:"outbox-release-instance"`
	OutboxRetry           string `query:"outbox-retry"`
	OutboxFailed          string `query:"outbox-failed"`
	Ping                  string `query:"ping"`
	StatsInbound          string `query:"stats-inbound"`
	StatsOutbox           string `query:"stats-outbox"`
	StatsRetrying         string `query:"stats-outbox-retrying"`
	StatsTickets          string `query:"stats-tickets"`
	InsertSetting         string `query:"insert-setting"`
	Setting               string `query:"setting"`
}

// parseQueries splits a file of "-- name: x" sections into a map.
func parseQueries(src string) (map[string]string, error) {
	out := map[string]string{}
	var name string
	var b strings.Builder
	flush := func() error {
		if name == "" {
			return nil
		}
		q := strings.TrimSpace(b.String())
		q = strings.TrimSuffix(q, ";")
		if q == "" {
			return fmt.Errorf("ticket: query %q is empty", name)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("ticket: query %q defined twice", name)
		}
		out[name] = q
		b.Reset()
		return nil
	}
	for _, line := range strings.Split(src, "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name = strings.TrimSpace(n)
			continue
		}
		if name == "" || strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// allQueries reads every queries*.sql file into one map; a name defined twice is an error.
func allQueries() (map[string]string, error) {
	files, err := fs.Glob(queryFS, "queries*.sql")
	if err != nil {
		return nil, fmt.Errorf("ticket: list query files: %w", err)
	}
	all := map[string]string{}
	for _, f := range files {
		b, err := queryFS.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("ticket: read %s: %w", f, err)
		}
		m, err := parseQueries(string(b))
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, f)
		}
		for k, v := range m {
			if _, dup := all[k]; dup {
				return nil, fmt.Errorf("ticket: query %q defined twice (in %s)", k, f)
			}
			all[k] = v
		}
	}
	return all, nil
}

// bindQueries fills the string fields of each struct in dsts from the query named by
// their `query` tag, rebound for db's driver. It fails when a field names no query, or
// when a query is used by no field, so a typo fails at start-up rather than at the
// first mail. A name may carry a dialect variant: "claim@postgres" is used instead of
// "claim" on PostgreSQL.
func bindQueries(db *sqlx.DB, dsts ...any) error {
	m, err := allQueries()
	if err != nil {
		return err
	}
	dialect := string(DialectOf(db))
	used := map[string]bool{}
	for _, dst := range dsts {
		v := reflect.ValueOf(dst).Elem()
		for i := 0; i < v.NumField(); i++ {
			name := v.Type().Field(i).Tag.Get("query")
			if name == "" {
				continue
			}
			s, ok := m[name]
			if !ok {
				return fmt.Errorf("ticket: query %q missing from queries*.sql", name)
			}
			used[name] = true
			for _, d := range []Dialect{SQLite, Postgres} {
				used[name+"@"+string(d)] = true
			}
			if variant, ok := m[name+"@"+dialect]; ok {
				s = variant
			}
			v.Field(i).SetString(db.Rebind(s))
		}
	}
	for name := range m {
		if !used[name] {
			return fmt.Errorf("ticket: query %q in queries*.sql is used by no field", name)
		}
	}
	return nil
}

// bindAll binds every query struct of the Service in one call, so that a query used by
// none of them is caught. Add a new area's struct here.
func (s *Service) bindAll() error {
	s.q, s.cq, s.iq, s.wq, s.sq, s.rq = &queries{}, &changeQueries{}, &imapQueries{}, &webQueries{}, &slaQueries{}, &replyQueries{}
	s.mq, s.dq, s.fq, s.pq = &mergeQueries{}, &dashboardQueries{}, &satisfactionQueries{}, &privacyQueries{}
	return bindQueries(s.db, s.q, s.cq, s.iq, s.wq, s.sq, s.rq, s.mq, s.dq, s.fq, s.pq)
}
