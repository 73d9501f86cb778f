package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

func TestHealthz(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		body string
	}{
		{"up", nil, 200, "ok"},
		{"database down", errors.New("connection refused"), 503, "database: unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Options{Checks: map[string]Pinger{"database": pingFunc(func(context.Context) error { return tc.err })}})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.code, tc.body)
			}
			if strings.Contains(rec.Body.String(), "refused") {
				t.Fatal("health answer leaks the error text")
			}
		})
	}
	rec := httptest.NewRecorder()
	New(Options{Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("m 1\n")) })}).
		ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Body.String() != "m 1\n" {
		t.Fatalf("metrics: %q", rec.Body.String())
	}
}
