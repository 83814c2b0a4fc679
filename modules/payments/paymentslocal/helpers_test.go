package paymentslocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/bellhop/bellhop/modules/bookings/bookingstest"
	"github.com/bellhop/bellhop/modules/payments"
	"github.com/bellhop/bellhop/modules/payments/paymentslocal"
	"github.com/bellhop/bellhop/modules/payments/paymentstest"
	"github.com/bellhop/bellhop/modules/payments/provider"
	"github.com/bellhop/bellhop/modules/payments/provider/sandbox"
	"github.com/bellhop/bellhop/platform/authn"
	"github.com/bellhop/bellhop/platform/db"
	"github.com/bellhop/bellhop/platform/db/dbtest"
	"github.com/bellhop/bellhop/platform/events"
)

// env is a payments module on SQLite, charging a sandbox bank with a
// database of its own, reading bookings from a bookingstest.Fake.
type env struct {
	m    *paymentslocal.Module
	svc  payments.Service
	db   *db.DB
	bank *sandbox.Bank
	bk   *bookingstest.Fake
}

type envOptions struct {
	bus    *events.Bus
	bank   sandbox.Options
	policy provider.Policy
	// grace is Deps.NotFoundGrace (default here: 1ns, i.e. at once: the
	// sandbox's ledger is exact).
	grace time.Duration
	// wrap, if set, stands between the module and the bank (a provider that
	// lies, say).
	wrap func(provider.Provider) provider.Provider
	// db, if set, is the module's database (default: SQLite in a temp dir).
	db *db.DB
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	bank, err := sandbox.New(dbtest.Open(t, sandbox.DBName, sandbox.Migrations), o.bank)
	if err != nil {
		t.Fatal(err)
	}
	bk := bookingstest.NewFake()
	if o.grace == 0 {
		o.grace = time.Nanosecond
	}
	var prov provider.Provider = bank
	if o.wrap != nil {
		prov = o.wrap(bank)
	}
	d := o.db
	if d == nil {
		d = dbtest.Open(t, payments.Module, paymentslocal.Migrations)
	}
	m, err := paymentslocal.New(paymentslocal.Deps{
		DB: d, Bus: o.bus, Bookings: bk, Provider: prov, ProviderPolicy: o.policy,
		NotFoundGrace: o.grace, ReconcileInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{m: m, svc: m.Service(), db: d, bank: bank, bk: bk}
}

// as is ctx carrying p, for in-process calls.
func as(p authn.Principal) context.Context {
	return authn.WithPrincipal(context.Background(), p)
}

var guest = paymentstest.Guest

// fastPolicy keeps fault tests quick.
func fastPolicy() provider.Policy {
	return provider.Policy{AttemptTimeout: 200 * time.Millisecond, Attempts: 3, Backoff: 5 * time.Millisecond,
		BreakerFailures: 1000, BreakerOpen: time.Second}
}

// ledgerByKey is the bank's charges by idempotency key, failing on a key
// charged twice.
func ledgerByKey(t *testing.T, bank *sandbox.Bank) map[string]sandbox.Charge {
	t.Helper()
	charges, err := bank.Charges(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]sandbox.Charge{}
	for _, c := range charges {
		if _, dup := out[c.IdempotencyKey]; dup {
			t.Fatalf("key %s charged twice", c.IdempotencyKey)
		}
		out[c.IdempotencyKey] = c
	}
	return out
}
