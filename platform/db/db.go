// Package db opens one GORM handle per module: a SQLite file of its own in the
// data directory by default (WAL checkpointed in the background, busy timeout,
// foreign keys, writing transactions that begin IMMEDIATE and take turns in the
// process), or PostgreSQL when the module's DSN says
// so. It also runs each module's ordered, recorded migrations.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options says where a module's database lives.
type Options struct {
	Module  string // "search": names the SQLite file and the migration records
	DSN     string // "" → <DataDir>/<Module>.db; "postgres://..." → PostgreSQL; "file:..." or a path → SQLite
	DataDir string
	// MaxOpenConns bounds the pool (SQLite readers run in parallel under WAL; writers queue).
	MaxOpenConns int
	Log          *slog.Logger
	// SlowQuery logs statements slower than this at warn (0: 200ms).
	SlowQuery time.Duration
}

// DB is a module's database handle.
type DB struct {
	*gorm.DB
	Dialect string
	Module  string
	// checkpoints copies SQLite's write-ahead log into the database file
	// (checkpoint.go); nil on PostgreSQL.
	checkpoints *checkpointer
}

// Open opens (and for SQLite, creates) the module's database.
func Open(ctx context.Context, o Options) (*DB, error) {
	dialect, dialector, err := dialectorFor(o)
	if err != nil {
		return nil, err
	}
	slow := o.SlowQuery
	if slow == 0 {
		slow = 200 * time.Millisecond
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{
		Logger: newGormLogger(o.Log, slow),
		// On PostgreSQL a lone Create, Update or Delete runs as it is (writes
		// that need a transaction open one explicitly). On SQLite GORM wraps it
		// in a transaction of its own, so that it takes its turn at the write
		// gate (gate.go) with every other writer of the process: alone it
		// would wait in SQLite's sleeping busy handler, seconds under a burst
		// of transactions.
		SkipDefaultTransaction: dialect != SQLite,
		PrepareStmt:            true,
		TranslateError:         true,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	})
	if err != nil {
		return nil, fmt.Errorf("db %s: open: %w", o.Module, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("db %s: %w", o.Module, err)
	}
	if dialect == SQLite {
		if err := beginLoneWritesCheaply(gdb); err != nil {
			_ = sqlDB.Close()
			return nil, fmt.Errorf("db %s: %w", o.Module, err)
		}
	}
	maxOpen := o.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 16
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxOpen)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("db %s: ping: %w", o.Module, err)
	}
	d := &DB{DB: gdb, Dialect: dialect, Module: o.Module}
	if dialect == SQLite {
		log := o.Log
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		d.checkpoints = startCheckpointer(sqlDB, o.Module, log)
	}
	return d, nil
}

func dialectorFor(o Options) (string, gorm.Dialector, error) {
	dsn := strings.TrimSpace(o.DSN)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return Postgres, postgres.New(postgres.Config{
			DSN:          dsn,
			OptionOpenDB: []stdlib.OptionOpenDB{stdlib.OptionAfterConnect(scanTimesInUTC)},
		}), nil
	}
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		if o.DataDir == "" {
			return "", nil, errors.New("db " + o.Module + ": neither a DSN nor a data directory is set")
		}
		path = filepath.Join(o.DataDir, o.Module+".db")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", nil, fmt.Errorf("db %s: create data directory: %w", o.Module, err)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	// A deferred transaction that reads and then writes fails with "database is
	// locked" under concurrency whatever the busy timeout; IMMEDIATE takes the
	// write lock up front and waits for it instead.
	q.Set("_txlock", "immediate")
	q.Set("cache", "private")
	conn, err := sql.Open(driverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return "", nil, fmt.Errorf("db %s: %w", o.Module, err)
	}
	// Transactions take turns in the process before SQLite's lock (gate.go).
	return SQLite, sqlite.New(sqlite.Config{DriverName: driverName, Conn: newGatedPool(conn)}), nil
}

// scanTimesInUTC makes pgx hand timestamptz values back in UTC, as SQLite
// does (and as NowFunc writes them), rather than in the process's local zone:
// the same instant, but without it a module's answers (created_at, ...) would
// depend on the database and on the host's TZ.
func scanTimesInUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

// Ping checks the database answers; it is the module's readiness check.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close stops the checkpointer and closes the pool.
func (d *DB) Close() error {
	if d.checkpoints != nil {
		d.checkpoints.stop()
	}
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool { return errors.Is(err, gorm.ErrDuplicatedKey) }

type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func newGormLogger(log *slog.Logger, slow time.Duration) logger.Interface {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return gormLogger{log: log, slow: slow}
}

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(msg, args...))
}
func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}
func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}

// Trace logs slow statements only: errors are returned to the caller, which
// decides whether they matter (a not-found is not an error worth a log line).
func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if elapsed := time.Since(begin); elapsed >= l.slow {
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow query", "elapsed_ms", elapsed.Milliseconds(), "rows", rows, "sql", sql)
	}
}
