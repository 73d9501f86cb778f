// Package web serves Guichet's HTTP side: the portal's pages, the JSON API, health and
// metrics. Handlers hang off one Handler struct on a stdlib ServeMux with method
// patterns; each page has its own small file.
//
// # Portal
//
// Pages are server-rendered HTML (templates.Web) that work without JavaScript; a small
// embedded script adds drag and drop and pasted screenshots to file inputs. Every page
// but sign-in, the stop link, health, metrics and static files needs a session: an
// HttpOnly, SameSite=Lax cookie (Secure when PublicURL is https) holding a token the
// ticket service checks. State-changing routes are wrapped in
// http.CrossOriginProtection. Every response carries a strict Content-Security-Policy;
// nothing is ever fetched from elsewhere.
//
// Access rules live in the ticket service's queries: a ticket, comment or attachment the
// user may not see answers the same 404 as one that does not exist.
package web

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/guichet/guichet/templates"
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

	// Portal is the ticket service behind the pages; without it no page is served.
	Portal Portal
	// Tickets is the ticket service behind the JSON API (/api/v1/); without it the API
	// is not served.
	Tickets Tickets
	// Blobs keeps attachment and avatar content.
	Blobs Blobs
	// Pages are the parsed page templates; templates.NewWeb("") when nil.
	Pages *templates.Web
	// Backoff holds the sign-in limits' counts. Without one, or when it fails, sign-in
	// is not limited (fail open, logged).
	Backoff Backoff
	// SignIn are the sign-in limits; a zero policy is DefaultSignInLimits'.
	SignIn SignInLimits
	// PublicURL is the portal's base URL; https makes the session cookie Secure.
	PublicURL string
	// Academies lists the choices of the form's "Académie" field.
	Academies []string
	// Components lists the choices of the form's "Composants" field per desk key; the
	// entry "" is used for desks without their own list.
	Components map[string][]string
	// RequestTypes lists the choices of the form's request type; the first is the default.
	RequestTypes []string
	// MaxUpload caps the files of one form, in bytes (default 20 MiB).
	MaxUpload int64
	// Secret signs files kept across a form that had errors; random when empty (then a
	// form re-sent to another instance loses them).
	Secret []byte
	// SessionTTL is how long a session lasts without use (default 12 hours).
	SessionTTL time.Duration
	// Brand is the service's name, welcome line, logo and phone support; the user
	// guide's by default.
	Brand Brand
}

// Defaults of Options.
var (
	DefaultAcademies    = []string{"Clermont-Ferrand", "Grenoble", "Lyon"}
	DefaultRequestTypes = []string{"Incident", "Demande d'assistance", "Demande d'information"}
)

// Handler is Guichet's HTTP handler.
type Handler struct {
	opt    Options
	mux    *http.ServeMux
	pages  *templates.Web
	csrf   *http.CrossOriginProtection
	secure bool // session cookie Secure
}

// New builds the handler and its routes.
func New(opt Options) *Handler {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Academies == nil {
		opt.Academies = DefaultAcademies
	}
	if opt.RequestTypes == nil {
		opt.RequestTypes = DefaultRequestTypes
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 20 << 20
	}
	if len(opt.Secret) == 0 {
		opt.Secret = make([]byte, 32)
		rand.Read(opt.Secret)
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	opt.SignIn = opt.SignIn.withDefaults()
	opt.Brand = opt.Brand.withDefaults()
	h := &Handler{
		opt: opt, mux: http.NewServeMux(), csrf: http.NewCrossOriginProtection(),
		secure: strings.HasPrefix(strings.ToLower(opt.PublicURL), "https://"),
	}
	h.csrf.SetDenyHandler(http.HandlerFunc(h.crossOrigin))
	h.mux.HandleFunc("GET /healthz", h.healthz)
	if opt.Metrics != nil {
		h.mux.Handle("GET /metrics", opt.Metrics)
	}
	if opt.Portal != nil {
		h.pages = opt.Pages
		if h.pages == nil {
			p, err := templates.NewWeb("")
			if err != nil {
				panic(err) // the embedded templates are tested; this is a build error
			}
			h.pages = p
		}
		h.portalRoutes()
	}
	if opt.Tickets != nil {
		h.apiRoutes()
	}
	return h
}

// securityHeaders are set on every response.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
	"X-Frame-Options":        "DENY",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range securityHeaders {
		w.Header().Set(k, v)
	}
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
