package ticket

import (
	_ "embed"
	"fmt"
	"reflect"
	"strings"

	"github.com/jmoiron/sqlx"
)

//go:embed queries.sql
var queriesSQL string

// queries holds every statement of the store, rebound for the driver. Each field names its
// query in queries.sql; Load fails when one is missing or when the file has one no field
// uses, so a typo fails at start-up rather than at the first mail.
type queries struct {
	DeskByKey          string `query:"desk-by-key"`
	DeskByID           string `query:"desk-by-id"`
	InsertDesk         string `query:"insert-desk"`
	NextNumber         string `query:"next-number"`
	InsertInbound      string `query:"insert-inbound"`
	InboundByDedup     string `query:"inbound-by-dedup"`
	InboundDone        string `query:"inbound-done"`
	InboundFailed      string `query:"inbound-failed"`
	InboundToRetry     string `query:"inbound-to-retry"`
	InboundList        string `query:"inbound-list"`
	InboundRaw         string `query:"inbound-raw"`
	UserByEmail        string `query:"user-by-email"`
	UserByID           string `query:"user-by-id"`
	InsertUser         string `query:"insert-user"`
	UpsertUser         string `query:"upsert-user"`
	FillUserName       string `query:"fill-user-name"`
	StaffUsers         string `query:"staff-users"`
	SetBouncing        string `query:"set-bouncing"`
	UserBouncing       string `query:"user-bouncing"`
	UpsertEstab        string `query:"upsert-establishment"`
	Establishment      string `query:"establishment"`
	InsertTicket       string `query:"insert-ticket"`
	TicketByKey        string `query:"ticket-by-key"`
	TicketByID         string `query:"ticket-by-id"`
	TicketList         string `query:"ticket-list"`
	TicketSetStatus    string `query:"ticket-set-status"`
	TicketTouch        string `query:"ticket-touch"`
	InsertParticipant  string `query:"insert-participant"`
	Participants       string `query:"participants"`
	InsertComment      string `query:"insert-comment"`
	Comments           string `query:"comments"`
	InsertAttachment   string `query:"insert-attachment"`
	Attachments        string `query:"attachments"`
	InsertThreadMsg    string `query:"insert-thread-message"`
	ThreadMessage      string `query:"thread-message"`
	ThreadLastMessages string `query:"thread-last-messages"`
	InsertOutbox       string `query:"insert-outbox"`
	CountRecentOutbox  string `query:"count-recent-outbox"`
	OutboxByMessageID  string `query:"outbox-by-message-id"`
	OutboxClaim        string `query:"outbox-claim"`
	OutboxSent         string `query:"outbox-sent"`
	OutboxRetry        string `query:"outbox-retry"`
	OutboxFailed       string `query:"outbox-failed"`
	OutboxPendingCount string `query:"outbox-pending-count"`
	Ping               string `query:"ping"`
	InsertSetting      string `query:"insert-setting"`
	Setting            string `query:"setting"`
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

// loadQueries fills q from queries.sql, rebinding placeholders for db's driver.
func loadQueries(db *sqlx.DB) (*queries, error) {
	m, err := parseQueries(queriesSQL)
	if err != nil {
		return nil, err
	}
	q := &queries{}
	v := reflect.ValueOf(q).Elem()
	used := map[string]bool{}
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Tag.Get("query")
		s, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("ticket: query %q missing from queries.sql", name)
		}
		used[name] = true
		v.Field(i).SetString(db.Rebind(s))
	}
	for name := range m {
		if !used[name] {
			return nil, fmt.Errorf("ticket: query %q in queries.sql has no field", name)
		}
	}
	return q, nil
}
