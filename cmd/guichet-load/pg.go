package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx", for --db postgres://…
)

// pgDatabase is a fresh PostgreSQL database made for one run on the server of --db.
type pgDatabase struct {
	admin *sql.DB
	name  string
	url   string // the new database, for `guichet serve --db`
}

// isPostgres tells whether --db names a PostgreSQL server.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// newPGDatabase creates guichet_load_<random> on the server of base (a URL whose
// database the load command may connect to in order to create others).
func newPGDatabase(base string) (*pgDatabase, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("--db: unreadable URL")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return nil, err
	}
	var b [4]byte
	rand.Read(b[:])
	name := "guichet_load_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	return &pgDatabase{admin: admin, name: name, url: u.String()}, nil
}

// open connects to the run's database, for the verification queries.
func (p *pgDatabase) open() (*sql.DB, error) {
	db, err := sql.Open("pgx", p.url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// drop removes the run's database (after the servers stopped).
func (p *pgDatabase) drop() error {
	defer p.admin.Close()
	if _, err := p.admin.Exec("DROP DATABASE " + p.name + " WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", p.name, err)
	}
	return nil
}
