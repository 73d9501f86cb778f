// Package web serves Guichet's HTTP side: health and metrics now, the portal and the JSON
// API as they are built. Handlers hang off one Handler struct on a stdlib ServeMux with
// method patterns.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Pinger answers whether a dependency (the database, Redis) is up.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configures the web handler.
type Options struct {
	Checks  map[string]Pinger // checked by /healthz, by name
	Metrics http.Handler      // served at /metrics
	Logger  *slog.Logger
}

// Handler is Guichet's HTTP handler.
type Handler struct {
	opt Options
	mux *http.ServeMux
}

// New builds the handler and its routes.
func New(opt Options) *Handler {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opt: opt, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	if opt.Metrics != nil {
		h.mux.Handle("GET /metrics", opt.Metrics)
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// healthz answers 200 "ok" when every check answers, else 503 naming the failing one.
func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	for name, c := range h.opt.Checks {
		if err := c.Ping(ctx); err != nil {
			h.opt.Logger.Warn("health check failed", "check", name, slog.Any("error", err))
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(name + ": unavailable\n"))
			return
		}
	}
	w.Write([]byte("ok\n"))
}
