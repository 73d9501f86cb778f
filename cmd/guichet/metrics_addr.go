package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// metricsRoute decides where /metrics is served. Its numbers (traffic, backlog, tickets
// by status, the process's memory) are for the operator, not for everyone who can
// reach the portal:
//
//   - --metrics-addr empty (the default): on the portal's listener when --http-addr is
//     loopback (a local scraper, or a reverse proxy that publishes only what it is told
//     to), else nowhere;
//   - --metrics-addr host:port: on a listener of its own there, not on the portal's;
//   - --metrics-addr equal to --http-addr: on the portal's listener, loopback or not
//     (the operator asked for it);
//   - --metrics-addr off: nowhere.
func metricsRoute(httpAddr, metricsAddr string) (onPortal bool, listen string) {
	switch metricsAddr {
	case "off":
		return false, ""
	case "":
		return isLoopback(httpAddr), ""
	case httpAddr:
		return true, ""
	}
	return false, metricsAddr
}

// isLoopback reports whether the listener address hostport only takes connections from
// this machine: 127.0.0.0/8, ::1 or localhost. An empty host (":8080") means every
// interface; another host name is not looked up and counts as reachable from outside.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// startMetrics serves h at /metrics on a listener of its own at addr and returns the
// address it listens on and a function that stops it.
func startMetrics(e *env, addr string, h http.Handler) (listening string, stop func(context.Context), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen for --metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := wrapServe("metrics", srv.Serve(ln)); err != nil {
			e.log.Error("metrics listener stopped", slog.Any("error", err))
		}
	}()
	return ln.Addr().String(), func(ctx context.Context) { srv.Shutdown(ctx) }, nil
}
