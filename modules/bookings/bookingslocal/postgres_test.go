package bookingslocal_test

import (
	"testing"

	"github.com/bellhop/bellhop/modules/bookings"
	"github.com/bellhop/bellhop/modules/bookings/bookingslocal"
	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/search/searchtest"
	"github.com/bellhop/bellhop/platform/authn/authntest"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/pgtest"
	"github.com/bellhop/bellhop/platform/events/eventstest"
)

// TestMain stops the PostgreSQL cluster (started by the first test that
// needs it) when the package's tests are done.
func TestMain(m *testing.M) { pgtest.Main(m) }

// openPostgres returns the bookings module's database, migrated, in a fresh
// PostgreSQL database.
func openPostgres(t *testing.T) *db.DB {
	return pgtest.Open(t, bookings.Module, bookingslocal.Migrations)
}

// The contract, in-process on PostgreSQL.
func TestContract_Postgres(t *testing.T) {
	bookingstest.RunContract(t, func(t *testing.T, _ *authntest.Issuer) bookingstest.Target {
		catalog := searchtest.NewFake()
		bus := eventstest.Bus(t)
		m, err := bookingslocal.New(bookingslocal.Deps{DB: openPostgres(t), Bus: bus, Search: catalog, MaxPendingHolds: 1000}) // as in contract_test.go
		if err != nil {
			t.Fatal(err)
		}
		eventstest.Run(t, m)
		pays := paymentstest.NewEvents(t, bus)
		return bookingstest.Target{
			Service: m.Service(),
			Catalog: catalog,
			Pay:     func(t *testing.T, b bookings.Booking) string { return pays.Succeed(t, b).ID },
		}
	})
}

// PostgreSQL does not serialise writing transactions as SQLite does: the
// atomic take and the idempotency key's unique index hold on their own.
// LastRooms is the requirement as stated (200 concurrent holds on 3 rooms):
// the 200 goroutines share the module's pool (db.Open's default of 16
// connections, well under the cluster's max_connections of 100) and wait
// for a connection, so none fails for want of one.
func TestHold_Concurrent_Postgres(t *testing.T) {
	t.Run("LastRooms", func(t *testing.T) {
		d := openPostgres(t)
		requirePoolFits(t, d)
		concurrentLastRooms(t, newEnv(t, false, bookingslocal.Deps{DB: d}), 200)
	})
	t.Run("IdempotencyKey", func(t *testing.T) {
		concurrentIdempotencyKey(t, newEnv(t, false, bookingslocal.Deps{DB: openPostgres(t)}))
	})
}

// requirePoolFits checks the module's connection pool is bounded and fits in
// the server's max_connections (with room for pgtest's admin connection), so
// concurrent callers queue for a connection rather than fail with "too many
// clients".
func requirePoolFits(t *testing.T, d *db.DB) {
	t.Helper()
	sqlDB, err := d.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	var maxConns int
	if err := d.Raw("SELECT setting::int FROM pg_settings WHERE name = 'max_connections'").Scan(&maxConns).Error; err != nil {
		t.Fatal(err)
	}
	pool := sqlDB.Stats().MaxOpenConnections
	if pool <= 0 || pool >= maxConns {
		t.Fatalf("pool of %d connections (0: unbounded) vs max_connections %d: concurrent holds could fail for want of a connection", pool, maxConns)
	}
	t.Logf("pool %d connections, server max_connections %d", pool, maxConns)
}
