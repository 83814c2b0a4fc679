package db

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLite in WAL mode appends each commit to the write-ahead log; a
// checkpoint copies the log back into the database file. By default the
// commit that takes the log past 1,000 pages runs that checkpoint itself,
// inside the commit, so about one write in a few hundred waits for a copy of
// megabytes and an fsync: that was most of the p99 of event latency (the
// relay's and the consumers' commits queue behind it).
//
// Bellhop's connections turn the automatic checkpoint off (driverName's
// connect hook), and every SQLite database Open returns runs a checkpointer
// instead, beside the writers: every checkpointInterval a PASSIVE
// checkpoint, which never waits for a reader or a writer and copies what it
// can. A writer that begins after a checkpoint copied everything starts the
// log from its beginning again, so the log stays the size of a moment's
// writes, as before. A process that ends closes its connections, and the
// last one to close checkpoints whatever is left (SQLite's own behaviour).

// driverName is mattn/go-sqlite3 with the automatic checkpoint off on every
// connection.
const driverName = "sqlite3_bellhop"

// checkpointInterval is how often the checkpointer runs.
const checkpointInterval = 200 * time.Millisecond

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil)
			return err
		},
	})
}

// checkpointer runs PASSIVE checkpoints on conn until stop.
type checkpointer struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func startCheckpointer(conn *sql.DB, module string, log *slog.Logger) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{cancel: cancel}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := checkpoint(ctx, conn)
			switch {
			case err != nil && ctx.Err() == nil && !failing:
				// Once per run of failures: the next commit's log grows meanwhile, nothing is lost.
				log.Warn("sqlite checkpoint failed", "module", module, "err", err)
				failing = true
			case err == nil && failing:
				log.Info("sqlite checkpoint works again", "module", module)
				failing = false
			}
		}
	}()
	return c
}

// checkpoint runs one PASSIVE checkpoint.
func checkpoint(ctx context.Context, conn *sql.DB) error {
	var busy, logPages, copied int
	return conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
}

// stop ends the loop and waits for it.
func (c *checkpointer) stop() {
	c.cancel()
	c.done.Wait()
}
