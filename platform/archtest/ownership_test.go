package archtest

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// platformExceptions are platform files that still name a module, with the
// reason. The check fails when an exception is no longer needed, so none
// outlives its reason.
var platformExceptions = map[string]string{
	// Issue 10 moves the Auth, Bookings and Payments sections into the
	// modules; platform/config keeps the generic machinery.
	// A public problem reason: renaming it changes what clients see.
	"platform/httpclient/clientcredentials.go": `the problem reason "auth.token_unavailable"`,
}

func repoTree(t *testing.T) *sourceTree {
	t.Helper()
	tree, err := loadSourceTree(os.DirFS(repoRoot(t)))
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestDataOwnership(t *testing.T) {
	t.Parallel()
	tree := repoTree(t)
	tables, _ := declaredTables(tree)
	owners := map[string]int{}
	for _, tb := range tables {
		owners[tb.owner]++
	}
	// Not vacuous: the modules and their tables are found.
	if len(tree.modules) < 4 || owners[ownerPlatform] < 3 || len(owners) < 4 {
		t.Fatalf("modules %v, tables per owner %v: the check would pass vacuously", tree.modules, owners)
	}
	t.Logf("modules %v; tables per owner %v", tree.modules, owners)

	for _, v := range checkTableOwnership(tree) {
		t.Error(v)
	}
	for _, v := range checkDatabaseOwnership(tree) {
		t.Error(v)
	}
	excepted := map[string]bool{}
	for _, v := range checkPlatformNamesNoModule(tree) {
		file, _, _ := strings.Cut(v, ":")
		if _, ok := platformExceptions[file]; ok {
			excepted[file] = true
			continue
		}
		t.Error(v)
	}
	for _, file := range slices.Sorted(maps.Keys(platformExceptions)) {
		if !excepted[file] {
			t.Errorf("%s no longer names a module: remove its entry from platformExceptions (%s)", file, platformExceptions[file])
		}
	}
}

// violationTree has one violation of each kind, and code each check must
// leave alone.
var violationTree = fstest.MapFS{
	"go.mod": {Data: []byte("module example.com/b\n\ngo 1.26\n")},
	"modules/alpha/alpha.go": {Data: []byte(`package alpha

const Module = "alpha"
`)},
	"modules/alpha/alphalocal/store.go": {Data: []byte(`package alphalocal

import "gorm.io/gorm"

type Widget struct{ ID string }

func (Widget) TableName() string { return "widgets" }

type gadgetRow struct{ ID string }

var Migrations = []func(tx *gorm.DB) error{
	func(tx *gorm.DB) error { return tx.Migrator().CreateTable(&Widget{}, &gadgetRow{}) },
	func(tx *gorm.DB) error { return tx.Exec("CREATE TABLE IF NOT EXISTS sprockets (id TEXT)").Error },
}

func own(tx *gorm.DB) {
	tx.Table("widgets").Find(nil)
	tx.Raw("SELECT * FROM gadget_rows JOIN sprockets ON 1").Scan(nil)
}
`)},
	"modules/beta/betalocal/store.go": {Data: []byte(`package betalocal

import (
	"context"
	"database/sql"
	"fmt"

	"example.com/b/modules/alpha"
	"example.com/b/modules/alpha/alphalocal"
	"example.com/b/platform/db"
	"gorm.io/gorm"
)

type thingRow struct{ ID string }

func (thingRow) TableName() string { return "things" }

type stolenRow struct{ ID string }

func (stolenRow) TableName() string { return "widgets" }

func reads(tx *gorm.DB, cfg map[string]struct{ DSN string }) error {
	tx.Table("widgets AS w").Find(nil)
	tx.Raw("SELECT count(*) FROM things JOIN gadget_rows g ON g.id = things.id").Scan(nil)
	tx.Exec("insert into sprockets (id) values (?)", "x")
	tx.Where("id IN (SELECT id FROM things)").Find(nil)
	tx.Model(&alphalocal.Widget{}).Count(nil)
	tx.Exec("DELETE FROM events_outbox WHERE id = ?", 1) // shared by design
	_, _ = db.Open(context.Background(), db.Options{Module: alpha.Module})
	_ = cfg["alpha"].DSN
	_ = "data/alpha.db"
	return fmt.Errorf("update from widgets failed") // prose
}

func opens(ctx context.Context, o db.Options) {
	_, _ = db.Open(ctx, db.Options{Module: "beta-cache"}) // a store of its own
	_, _ = db.Open(ctx, o)
	_, _ = sql.Open("sqlite", "data/anything.db")
}
`)},
	"modules/beta/betatest/fake.go": {Data: []byte(`package betatest

import (
	"example.com/b/modules/alpha"
	"example.com/b/platform/db/dbtest"
)

// A stand-in opens a throwaway database: allowed.
func open() { dbtest.Open(nil, alpha.Module) }
`)},
	"modules/beta/betalocal/store_test.go": {Data: []byte(`package betalocal

func peek() string { return "UPDATE widgets SET id = 1" }
`)},
	"platform/events/outbox.go": {Data: []byte(`package events

type outboxRow struct{ ID string }

func (outboxRow) TableName() string { return "events_outbox" }
`)},
	"platform/db/db.go": {Data: []byte(`package db

import "context"

type Options struct{ Module, DSN string }

type DB struct{}

func Open(ctx context.Context, o Options) (*DB, error) { return nil, nil }
`)},
	"platform/thing/thing.go": {Data: []byte(`package thing

import _ "example.com/b/modules/beta"

type Config struct {
	Alpha string ` + "`" + `mapstructure:"alpha"` + "`" + `
	Name  string ` + "`" + `json:"name"` + "`" + `
}

var scope = "beta:read"
var reason = "alpha.not_found"
var prose = "alpha and beta are Greek letters"
var word = "alphabet"
`)},
	"platform/thing/thing_test.go": {Data: []byte(`package thing

var inTest = "alpha"
`)},
	"cmd/app/main.go": {Data: []byte(`package main

func main() { _ = "SELECT * FROM widgets" }
`)},
	"cmd/app/e2e_test.go": {Data: []byte(`package main

var check = "SELECT * FROM widgets" // end-to-end tests read every store
`)},
}

func TestDataOwnershipViolations(t *testing.T) {
	t.Parallel()
	tree, err := loadSourceTree(violationTree)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tree.modules, []string{"alpha", "beta"}) {
		t.Fatalf("modules = %v, want alpha and beta (the directories under modules/)", tree.modules)
	}
	for _, tc := range []struct {
		name  string
		check func(*sourceTree) []string
		want  []string
	}{
		{"tables", checkTableOwnership, []string{
			"modules/beta/betalocal/store.go:20: table widgets is declared by alpha and by beta",
			`modules/beta/betalocal/store.go:23: beta uses table widgets of module alpha (Table("widgets AS w"))`,
			"modules/beta/betalocal/store.go:24: beta uses table gadget_rows of module alpha (JOIN gadget_rows)",
			"modules/beta/betalocal/store.go:25: beta uses table sprockets of module alpha (into sprockets)",
			"modules/beta/betalocal/store.go:27: beta uses table widgets of module alpha (its model type alphalocal.Widget)",
			"modules/beta/betalocal/store_test.go:3: beta uses table widgets of module alpha (UPDATE widgets)",
			"cmd/app/main.go:3: cmd uses table widgets of module alpha (FROM widgets)",
		}},
		{"databases", checkDatabaseOwnership, []string{
			"modules/beta/betalocal/store.go:29: beta names the database of module alpha (db.Options.Module)",
			"modules/beta/betalocal/store.go:30: beta reads the DSN of module alpha",
			`modules/beta/betalocal/store.go:31: beta names the database file of module alpha ("data/alpha.db")`,
			"modules/beta/betalocal/store.go:37: beta opens a database with db.Open without a db.Options literal naming it",
			"modules/beta/betalocal/store.go:38: beta opens a database with sql.Open",
		}},
		{"platform", checkPlatformNamesNoModule, []string{
			"platform/thing/thing.go:3: platform imports module beta (example.com/b/modules/beta)",
			`platform/thing/thing.go:6: platform names module alpha (struct tag mapstructure:"alpha")`,
			`platform/thing/thing.go:10: platform names module beta ("beta:read")`,
			`platform/thing/thing.go:11: platform names module alpha ("alpha.not_found")`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.check(tree)
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("missing violation %q", w)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d violations, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
		})
	}
}
