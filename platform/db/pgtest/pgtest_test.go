package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bellhop/bellhop/platform/db/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestCluster(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Start(t)
	if pgtest.Start(t) != c {
		t.Fatal("Start returned a second cluster")
	}
	var a, b string
	var aName string
	t.Run("Databases", func(t *testing.T) {
		a, b = c.NewDatabase(t), c.NewDatabase(t)
		if a == b || !strings.HasPrefix(a, "postgres://postgres@127.0.0.1:") {
			t.Fatalf("DSNs %q and %q", a, b)
		}
		ca, cb := connect(t, a), connect(t, b)
		if _, err := ca.Exec(ctx, "CREATE TABLE only_in_a (id int)"); err != nil {
			t.Fatal(err)
		}
		if _, err := cb.Exec(ctx, "SELECT * FROM only_in_a"); err == nil {
			t.Fatal("a table of one test database shows in another")
		}
		var listen, collate string
		if err := ca.QueryRow(ctx, "SELECT current_setting('listen_addresses'), current_database(), datcollate FROM pg_database WHERE datname = current_database()").
			Scan(&listen, &aName, &collate); err != nil {
			t.Fatal(err)
		}
		if listen != "127.0.0.1" || collate != "C" {
			t.Fatalf("listen_addresses = %q, collation = %q; want 127.0.0.1 and C", listen, collate)
		}
		if !strings.Contains(aName, "testcluster_databases") {
			t.Fatalf("database name %q does not name the test", aName)
		}
		// Left open on purpose: dropping the database at the end cuts it.
		if _, err := pgx.Connect(ctx, a); err != nil {
			t.Fatal(err)
		}
	})
	var n int
	if err := connect(t, c.DSN("postgres")).QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", aName).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s still there after its test (%d, %v)", aName, n, err)
	}
}
