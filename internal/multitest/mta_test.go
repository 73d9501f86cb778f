package multitest

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// mail is one test message: a new request from a requester of its own.
type mail struct {
	from string
	data []byte
}

var subjects = []string{
	"Impossible de me connecter à l'ENT",
	"Imprimante de la salle 12 hors service",
	"Mot de passe élève à réinitialiser",
	"Erreur lors de l'export des notes",
}

// makeMail returns message i of the run tag; its requester and Message-ID are unique.
func makeMail(tag string, i int) mail {
	from := fmt.Sprintf("prof.%d.%s@ac-lyon.fr", i, tag)
	date := time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", fmt.Sprintf("Élodie Martin %d", i)), from)
	b.WriteString("To: Assistance ENT <support@localhost>\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", fmt.Sprintf("%s (n° %d)", subjects[i%len(subjects)], i)))
	fmt.Fprintf(&b, "Message-ID: <%s.%d@ac-lyon.fr>\r\n", tag, i)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString("Bonjour,\r\n\r\nDepuis ce matin plusieurs enseignants n'arrivent plus à accéder à leur espace.\r\n")
	fmt.Fprintf(&b, "Le message d'erreur indique que la session a expiré (demande %d).\r\n\r\nCordialement,\r\nÉlodie Martin\r\n", i)
	return mail{from: from, data: []byte(b.String())}
}

// mta delivers like an MTA that sees the two instances as MX records of equal
// preference: a message whose connection fails, or that gets no 250 (a 4xx reply, a
// dropped connection before the reply), is sent again, the same bytes, to the other
// instance, and back and forth until a 250 or the end of ctx. A 5xx reply would bounce
// and is counted as such. Each client keeps its session to the instance that last
// answered 250.
type mta struct {
	addrs [2]string
	rcpt  string

	acked    [2]atomic.Int64 // 250 replies by instance
	resends  atomic.Int64    // attempts that failed and were made again
	bounced  atomic.Int64    // 5xx replies
	mu       sync.Mutex
	firstErr [2]string // the first failure at each instance
}

// run sends msgs over clients concurrent sessions that start with instance prefer, and
// calls onAck after each 250. It returns when every message got a 250 or bounced, or
// ctx ended.
func (m *mta) run(ctx context.Context, prefer, clients int, msgs []mail, onAck func()) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conns [2]*smtp.Client
			defer func() {
				for _, c := range conns {
					if c != nil {
						c.Close()
					}
				}
			}()
			target := prefer
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				target = m.deliver(ctx, &conns, target, msgs[i])
				if target >= 0 {
					onAck()
				} else {
					target = prefer
				}
			}
		}()
	}
	wg.Wait()
}

// deliver sends one message, trying target first, and returns the instance that
// answered 250 (-1 when it bounced or ctx ended).
func (m *mta) deliver(ctx context.Context, conns *[2]*smtp.Client, target int, msg mail) int {
	for try := 0; ctx.Err() == nil; try++ {
		if try > 0 {
			m.resends.Add(1)
			target = 1 - target
			if try%2 == 0 {
				time.Sleep(200 * time.Millisecond) // both failed: wait a little, as a queue run would
			}
		}
		var err error
		if conns[target] == nil {
			if conns[target], err = dial(m.addrs[target]); err != nil {
				m.noteErr(target, err)
				continue
			}
		}
		err = send(conns[target], m.rcpt, msg)
		if err == nil {
			m.acked[target].Add(1)
			return target
		}
		m.noteErr(target, err)
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			if se.Code >= 500 {
				m.bounced.Add(1)
				return -1
			}
			continue // 4xx: the session goes on; try the other instance
		}
		conns[target].Close() // the session is in an unknown state
		conns[target] = nil
	}
	return -1
}

func (m *mta) noteErr(target int, err error) {
	m.mu.Lock()
	if m.firstErr[target] == "" {
		m.firstErr[target] = err.Error()
	}
	m.mu.Unlock()
}

func dial(addr string) (*smtp.Client, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	c.CommandTimeout = 10 * time.Second
	c.SubmissionTimeout = 30 * time.Second
	if err := c.Hello("mx.ac-lyon.fr"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// send makes one MAIL, RCPT, DATA transaction on c.
func send(c *smtp.Client, rcpt string, msg mail) error {
	if err := c.Mail(msg.from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		c.Reset()
		return err
	}
	w, err := c.Data()
	if err != nil {
		c.Reset()
		return err
	}
	if _, err := w.Write(msg.data); err != nil {
		return err
	}
	return w.Close() // the final "." and the reply
}
