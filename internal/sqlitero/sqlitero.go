// Package sqlitero opens a running serve's SQLite database read-only, for the tools and
// tests that watch it from another process (cmd/guichet-load, internal/multitest).
package sqlitero

import (
	"database/sql"
	"net/url"

	_ "modernc.org/sqlite" // driver "sqlite"
)

// Open opens the SQLite file at path read-only, waiting up to 10 s for serve's locks,
// with one connection.
func Open(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
