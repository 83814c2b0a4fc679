package db

import (
	"context"
	"database/sql"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
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
// and a waiter whose context ends stops waiting. A lone write (a Create,
// Update or Delete outside a transaction) comes through here too, in a
// transaction GORM opens for it (beginLoneWritesCheaply). The busy handler
// is left for other processes (the CLI, a second reader) and for raw Exec
// statements.
//
// Transactions that finish work already under way — event consumers
// applying a payment to its booking, the relay marking what it published —
// go first (WithPriority): under a burst of new requests the sagas in
// flight still complete in milliseconds, and the new requests queue, as
// admission should.
type writeGate struct {
	mu        sync.Mutex
	busy      bool
	high, low []chan struct{} // waiters, first come first served within each
}

type priorityKey struct{}

// WithPriority marks ctx's transactions as finishing work under way: on
// SQLite they begin before other waiting transactions of the process.
func WithPriority(ctx context.Context) context.Context {
	return context.WithValue(ctx, priorityKey{}, true)
}

func (g *writeGate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	high, _ := ctx.Value(priorityKey{}).(bool)
	if high {
		g.high = append(g.high, ch)
	} else {
		g.low = append(g.low, ch)
	}
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if q, ok := without(g.high, ch); ok {
			g.high = q
			return ctx.Err()
		}
		if q, ok := without(g.low, ch); ok {
			g.low = q
			return ctx.Err()
		}
		// Handed the gate just as ctx ended: pass it on.
		g.releaseLocked()
		return ctx.Err()
	}
}

func without(q []chan struct{}, ch chan struct{}) ([]chan struct{}, bool) {
	for i, c := range q {
		if c == ch {
			return append(q[:i], q[i+1:]...), true
		}
	}
	return q, false
}

func (g *writeGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked()
}

// releaseLocked hands the gate to the next waiter, priority first.
func (g *writeGate) releaseLocked() {
	switch {
	case len(g.high) > 0:
		close(g.high[0])
		g.high = g.high[1:]
	case len(g.low) > 0:
		close(g.low[0])
		g.low = g.low[1:]
	default:
		g.busy = false
	}
}

// gatedPool is the connection pool GORM uses for a SQLite database: the
// *sql.DB, with transactions passing through the write gate.
type gatedPool struct {
	*sql.DB
	gate *writeGate
}

var (
	_ gorm.ConnPool         = (*gatedPool)(nil)
	_ gorm.ConnPoolBeginner = (*gatedPool)(nil)
	_ gorm.GetDBConnector   = (*gatedPool)(nil)
)

func newGatedPool(d *sql.DB) *gatedPool { return &gatedPool{DB: d, gate: &writeGate{}} }

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
	gate *writeGate
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

// beginLoneWritesCheaply has GORM's default transaction (the one that puts a
// lone write through the gate) skip, at once, a write already inside a
// transaction: GORM's own check clones the statement and tries to begin
// before it finds out, on every write of every transaction.
func beginLoneWritesCheaply(gdb *gorm.DB) error {
	begin := func(db *gorm.DB) {
		if _, inTx := db.Statement.ConnPool.(gorm.TxCommitter); inTx {
			return
		}
		callbacks.BeginTransaction(db)
	}
	cb := gdb.Callback()
	for _, p := range []interface {
		Replace(name string, fn func(*gorm.DB)) error
	}{cb.Create(), cb.Update(), cb.Delete()} {
		if err := p.Replace("gorm:begin_transaction", begin); err != nil {
			return err
		}
	}
	return nil
}
