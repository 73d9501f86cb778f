package ticket

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// MergeError says why a merge was refused; it matches ErrInvalid.
type MergeError struct {
	Reason string // a text key's last part: merge.err_<Reason>
	Key    string // the ticket the reason names, when one
}

func (e *MergeError) Error() string { return "ticket: merge refused: " + e.Reason + " " + e.Key }

// Is makes a MergeError match ErrInvalid.
func (e *MergeError) Is(target error) bool { return target == ErrInvalid }

// maxMergeHops bounds the chain a merged ticket's key is followed along.
const maxMergeHops = 8

// Merge merges ticket fromKey into ticket intoKey (agents only): the comments, files,
// participants and thread Message-IDs of the first move to the second, its request
// becomes a comment there (with its files), and it is closed pointing to the target;
// later mail to its key or thread lands on the target. Its requester is told once.
// Tickets of two establishments are not merged: a customer would see another school's
// request through it. It returns the target.
func (s *Service) Merge(ctx context.Context, actor User, fromKey, intoKey string) (*Ticket, error) {
	if !actor.Role.IsStaff() {
		return nil, fmt.Errorf("%w: merging is for agents", ErrForbidden)
	}
	var dst *Ticket
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		src, err := s.visibleTicket(ctx, tx, strings.ToUpper(strings.TrimSpace(fromKey)), actor)
		if err != nil {
			return err
		}
		into := strings.ToUpper(strings.TrimSpace(intoKey))
		if into == "" {
			return &MergeError{Reason: "required"}
		}
		dst, err = s.ticketByKey(ctx, tx, into)
		if errors.Is(err, ErrNotFound) {
			return &MergeError{Reason: "unknown", Key: into}
		}
		if err != nil {
			return err
		}
		return s.merge(ctx, tx, src, dst, actor)
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

func (s *Service) mergedInto(ctx context.Context, q sqlx.QueryerContext, id int64) (*int64, error) {
	var into *int64
	if err := sqlx.GetContext(ctx, q, &into, s.mq.MergedInto, id); err != nil {
		return nil, fmt.Errorf("ticket: read merge of ticket %d: %w", id, err)
	}
	return into, nil
}

// checkMerge refuses a merge that cannot be done, before anything is changed.
func (s *Service) checkMerge(ctx context.Context, q sqlx.QueryerContext, src, dst *Ticket) error {
	if src.ID == dst.ID {
		return &MergeError{Reason: "same", Key: dst.Key}
	}
	if into, err := s.mergedInto(ctx, q, src.ID); err != nil {
		return err
	} else if into != nil {
		return &MergeError{Reason: "already", Key: src.Key}
	}
	if into, err := s.mergedInto(ctx, q, dst.ID); err != nil {
		return err
	} else if into != nil {
		return &MergeError{Reason: "target_merged", Key: dst.Key}
	}
	if !strings.EqualFold(strings.TrimSpace(src.UAI), strings.TrimSpace(dst.UAI)) {
		return &MergeError{Reason: "establishment", Key: dst.Key}
	}
	return nil
}

func (s *Service) merge(ctx context.Context, tx *sqlx.Tx, src, dst *Ticket, actor User) error {
	if err := s.checkMerge(ctx, tx, src, dst); err != nil {
		return err
	}
	now := s.now()
	// The request itself becomes a comment of the target, in its place in time, by its
	// requester, with the request's files.
	body := fmt.Sprintf("[%s] %s", src.Key, src.Summary)
	if d := strings.TrimSpace(src.Description); d != "" {
		body += "\n\n" + d
	}
	var cid int64
	if err := tx.GetContext(ctx, &cid, s.q.InsertComment, dst.ID, src.RequesterID, body, "", Public, src.Source, 0, nil, src.CreatedAt); err != nil {
		return fmt.Errorf("ticket: merge %s: copy the request: %w", src.Key, err)
	}
	steps := []struct {
		what string
		q    string
		args []any
	}{
		{"files of the request", s.mq.MoveRequestFiles, []any{dst.ID, cid, src.ID}},
		{"comments", s.mq.MoveComments, []any{dst.ID, src.ID}},
		{"files", s.mq.MoveFiles, []any{dst.ID, src.ID}},
		{"participants", s.mq.CopyParticipants, []any{dst.ID, src.ID}},
		{"thread", s.mq.MoveThread, []any{dst.ID, src.ID}},
		{"link", s.mq.SetMergedInto, []any{dst.ID, src.ID}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("ticket: merge %s into %s: move %s: %w", src.Key, dst.Key, st.what, err)
		}
	}
	if src.RequesterID != dst.RequesterID {
		if _, err := tx.ExecContext(ctx, s.q.InsertParticipant, dst.ID, src.RequesterID, now); err != nil {
			return fmt.Errorf("ticket: merge %s: add its requester: %w", src.Key, err)
		}
	}
	if err := s.event(ctx, tx, src.ID, actor.ID, "merged_into", dst.Key); err != nil {
		return err
	}
	if err := s.event(ctx, tx, dst.ID, actor.ID, "merged_from", src.Key); err != nil {
		return err
	}
	if err := s.setStatus(ctx, tx, src, StatusClosed); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q.TicketTouch, now, dst.ID); err != nil {
		return fmt.Errorf("ticket: touch %s: %w", dst.Key, err)
	}
	// The source's requester is told once, in the target's thread: a reply lands there.
	req, err := s.userByID(ctx, tx, src.RequesterID)
	if err != nil {
		return err
	}
	data, err := s.mailData(ctx, tx, dst, nil)
	if err != nil {
		return err
	}
	data.Merged = &MergedView{Key: src.Key, Summary: src.Summary}
	th, err := s.threadOf(ctx, tx, dst, "")
	if err != nil {
		return err
	}
	return s.enqueue(ctx, tx, dst, req, MailMerged, data, th)
}

// MergedView names the ticket merged into the one a MailMerged mail is about.
type MergedView struct {
	Key     string `json:"key"`
	Summary string `json:"summary"`
}

// followMerge gives the ticket t was merged into (along the chain), or t.
func (s *Service) followMerge(ctx context.Context, q sqlx.QueryerContext, t *Ticket) (*Ticket, error) {
	for range maxMergeHops {
		into, err := s.mergedInto(ctx, q, t.ID)
		if err != nil {
			return nil, err
		}
		if into == nil {
			return t, nil
		}
		if t, err = s.ticketByID(ctx, q, *into); err != nil {
			return nil, err
		}
	}
	return t, nil
}

type mergeQueries struct {
	MergedInto       string `query:"merged-into"`
	MovedKey         string `query:"merged-into-key"`
	MoveRequestFiles string `query:"merge-move-request-files"`
	MoveComments     string `query:"merge-move-comments"`
	MoveFiles        string `query:"merge-move-files"`
	CopyParticipants string `query:"merge-copy-participants"`
	MoveThread       string `query:"merge-move-thread"`
	SetMergedInto    string `query:"merge-set"`
}

// mergeRefusal says in French and English why a merge by mail was refused.
func mergeRefusal(e *MergeError) string {
	switch e.Reason {
	case "same":
		return "une demande ne peut pas être fusionnée avec elle-même / a ticket cannot be merged into itself"
	case "already":
		return e.Key + " a déjà été fusionnée / was already merged"
	case "target_merged":
		return e.Key + " a elle-même été fusionnée dans une autre demande / was itself merged into another ticket"
	case "establishment":
		return "les deux demandes ne sont pas du même établissement / the two tickets are of different schools"
	}
	return e.Reason
}
