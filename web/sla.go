package web

import (
	"time"

	"github.com/guichet/guichet/templates"
	"github.com/guichet/guichet/ticket"
)

// slaView is one SLA target as agents read it: "Première réponse : reste 2 h 30 min",
// "dépassé de 15 min" (in red), "en pause (reste 30 min)", "respecté en 4 h".
type slaView struct {
	Label  string    // text key of the target
	State  string    // left, late, paused, paused_late, met or missed: text key sla.<State>
	Amount string    // the business time the state names
	Due    time.Time // when it runs out if the clock keeps running; zero when paused or done
	Late   bool
}

// slaNow is the target that matters now (the list's column): nil when none is pending.
func slaNow(st *ticket.SLAState) *slaView {
	if st == nil || st.Measure == "" {
		return nil
	}
	t := st.FirstResponse
	if st.Measure == ticket.SLAResolution {
		t = st.Resolution
	}
	v := slaTarget(st.Measure, t, st.Paused)
	return &v
}

// slaTargets are both targets, for the ticket's page.
func slaTargets(st *ticket.SLAState) []slaView {
	if st == nil {
		return nil
	}
	var out []slaView
	if st.FirstResponse.Set {
		out = append(out, slaTarget(ticket.SLAFirstResponse, st.FirstResponse, st.Paused))
	}
	if st.Resolution.Set {
		out = append(out, slaTarget(ticket.SLAResolution, st.Resolution, st.Paused))
	}
	return out
}

func slaTarget(measure string, t ticket.SLATarget, paused bool) slaView {
	v := slaView{Label: "sla." + measure, Late: t.Breached}
	switch {
	case t.Done && t.Breached:
		v.State, v.Amount = "missed", templates.FormatBusinessDuration(t.Took)
	case t.Done:
		v.State, v.Amount = "met", templates.FormatBusinessDuration(t.Took)
	case paused && t.Left < 0:
		v.State, v.Amount = "paused_late", templates.FormatBusinessDuration(t.Left)
	case paused:
		v.State, v.Amount = "paused", templates.FormatBusinessDuration(t.Left)
	case t.Left < 0:
		v.State, v.Amount, v.Due = "late", templates.FormatBusinessDuration(t.Left), t.Due
	default:
		v.State, v.Amount, v.Due = "left", templates.FormatBusinessDuration(t.Left), t.Due
	}
	return v
}
