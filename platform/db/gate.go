package db

import (
	"context"
	"database/sql"
	"sync"

	"gorm.io/gorm"
)

// writeGate lets one SQLite transaction at a time begin, in the process.
//
// SQLite has one writer per file: a transaction begun IMMEDIATE takes the
// write lock, and every other one waits in SQLite's busy handler, which
// polls with sleeps of 1 to 100 ms. Under a burst of writers that handler
// is slow and unfair — a transaction can sleep past its neighbours' commits
// again and again until the busy timeout — and the write rate collapses.
// Waiting here instead, on a Go channel, hands the lock from one
// transaction to the next the moment it commits, in the order they came,
// and a waiter whose context ends stops waiting. The busy handler is left
// for other processes (the CLI, a second reader) and for single statements
// outside a transaction.
type writeGate chan struct{}

func (g writeGate) acquire(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g writeGate) release() { <-g }

// gatedPool is the connection pool GORM uses for a SQLite database: the
// *sql.DB, with transactions passing through the write gate.
type gatedPool struct {
	*sql.DB
	gate writeGate
}

var (
	_ gorm.ConnPool         = (*gatedPool)(nil)
	_ gorm.ConnPoolBeginner = (*gatedPool)(nil)
	_ gorm.GetDBConnector   = (*gatedPool)(nil)
)

func newGatedPool(d *sql.DB) *gatedPool { return &gatedPool{DB: d, gate: make(writeGate, 1)} }

// BeginTx waits for the gate, then begins the transaction; the gate opens
// again when the transaction commits or rolls back.
func (p *gatedPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if err := p.gate.acquire(ctx); err != nil {
		return nil, err
	}
	tx, err := p.DB.BeginTx(ctx, opts)
	if err != nil {
		p.gate.release()
		return nil, err
	}
	return &gatedTx{Tx: tx, gate: p.gate}, nil
}

// GetDBConn gives GORM (and db.DB's callers) the *sql.DB.
func (p *gatedPool) GetDBConn() (*sql.DB, error) { return p.DB, nil }

// gatedTx is a transaction holding the write gate until it ends.
type gatedTx struct {
	*sql.Tx
	gate writeGate
	once sync.Once
}

var _ gorm.Tx = (*gatedTx)(nil)

func (t *gatedTx) Commit() error {
	defer t.end()
	return t.Tx.Commit()
}

func (t *gatedTx) Rollback() error {
	defer t.end()
	return t.Tx.Rollback()
}

func (t *gatedTx) end() { t.once.Do(t.gate.release) }
