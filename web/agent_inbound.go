package web

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/guichet/guichet/ticket"
)

// inboundView is the data of the held and failed mail lists.
type inboundView struct {
	Held  bool
	Items []ticket.InboundItem
}

// inboundHeld lists mail held for lack of sender proof (agents).
func (h *Handler) inboundHeld(w http.ResponseWriter, r *http.Request) { h.inboundList(w, r, "held") }

// inboundFailed lists mail stored but not processed (agents).
func (h *Handler) inboundFailed(w http.ResponseWriter, r *http.Request) {
	h.inboundList(w, r, "failed")
}

func (h *Handler) inboundList(w http.ResponseWriter, r *http.Request, state string) {
	items, err := h.opt.Portal.ListInbound(r.Context(), state, 200)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "inbound", h.page(w, r, state, inboundView{Held: state == "held", Items: items}))
}

// inboundRaw downloads a stored message as it arrived (agents), as text that the
// browser neither renders nor sniffs.
func (h *Handler) inboundRaw(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	raw, err := h.opt.Portal.OpenInboundRaw(r.Context(), id)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="message-`+strconv.FormatInt(id, 10)+`.eml"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	defer raw.Close()
	// in pieces: a big message is read from the blob store, never held whole
	if _, err := io.Copy(w, raw); err != nil {
		h.opt.Logger.Warn("inbound message download cut short", "inbound_id", id, slog.Any("error", err))
	}
}
