package ticket

import (
	"context"
	"database/sql/driver"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
)

// SQLite statement cache.
//
// modernc's driver prepares and finalizes every statement run through database/sql
// without an explicit Prepare; for the dozen short statements of each inbound message
// that was a quarter of the intake's CPU. stmtCacheConnector wraps the driver so that
// each connection keeps its prepared statements by query text and reuses them. A
// statement whose rows are still open is not reused: a fresh one is prepared for that
// call and finalized after it. Scripts (several statements) are never cached.

// maxCachedStmts bounds the statements kept per connection.
const maxCachedStmts = 256

type stmtCacheConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c *stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c *stmtCacheConnector) Driver() driver.Driver { return c.drv }

type cachedStmt struct {
	st   driver.Stmt
	busy atomic.Bool // rows of this statement are open
}

type stmtCacheConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

var (
	_ driver.ConnBeginTx        = (*stmtCacheConn)(nil)
	_ driver.ConnPrepareContext = (*stmtCacheConn)(nil)
	_ driver.ExecerContext      = (*stmtCacheConn)(nil)
	_ driver.QueryerContext     = (*stmtCacheConn)(nil)
	_ driver.Pinger             = (*stmtCacheConn)(nil)
	_ driver.SessionResetter    = (*stmtCacheConn)(nil)
	_ driver.Validator          = (*stmtCacheConn)(nil)
	_ driver.NamedValueChecker  = (*stmtCacheConn)(nil)
)

// CheckNamedValue converts an argument as database/sql does by default, then cleans
// text (see text.go).
func (c *stmtCacheConn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	nv.Value = cleanArg(v)
	return nil
}

// get returns a prepared statement for query and whether it is the cached one (else
// the caller closes it after use).
func (c *stmtCacheConn) get(ctx context.Context, query string) (*cachedStmt, bool, error) {
	if cs, ok := c.stmts[query]; ok && !cs.busy.Load() {
		return cs, true, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	cs := &cachedStmt{st: st}
	_, exists := c.stmts[query]
	if !exists && len(c.stmts) < maxCachedStmts && !isScript(query) {
		c.stmts[query] = cs
		return cs, true, nil
	}
	return cs, false, nil
}

func isScript(q string) bool {
	return strings.Contains(strings.TrimRight(strings.TrimSpace(q), ";"), ";")
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, cached, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
	if !cached {
		cs.st.Close()
	}
	return res, err
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, cached, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if !cached {
			cs.st.Close()
		}
		return nil, err
	}
	cs.busy.Store(true)
	return &cachedRows{Rows: rows, done: func() {
		cs.busy.Store(false)
		if !cached {
			cs.st.Close()
		}
	}}, nil
}

func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtCacheConn) Ping(ctx context.Context) error {
	return c.Conn.(driver.Pinger).Ping(ctx)
}

func (c *stmtCacheConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *stmtCacheConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Close finalizes the cached statements, then closes the connection.
func (c *stmtCacheConn) Close() error {
	for q, cs := range c.stmts {
		cs.st.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}

type cachedRows struct {
	driver.Rows
	done   func()
	closed bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.done()
	}
	return err
}

// ColumnTypeDatabaseTypeName passes the declared type through: sqlx and the driver's
// time parsing rely on it.
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
