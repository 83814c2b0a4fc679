package main_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/bellhop/bellhop/platform/db/pgtest"
	"github.com/bellhop/bellhop/platform/mail/mailpittest"
)

// scenarioWay starts one deployment of Bellhop for the scenario, its mail
// going to mp.
type scenarioWay struct {
	name  string
	start func(t *testing.T, mp *mailpittest.Server) scenarioTarget
}

var scenarioWays = []scenarioWay{
	{"monolith-sqlite", startMonolithSQLite},
	{"split-sqlite", startSplitSQLite},
	{"monolith-postgres", startMonolithPostgres},
}

// TestScenario_ThreeWays runs the scenario (runScenario) against the
// monolith on SQLite, the split topology on SQLite and the monolith on
// PostgreSQL, at once, and compares what each observed field by field: the
// deployment must not change a status, an amount, a line of a document or
// a report figure.
func TestScenario_ThreeWays(t *testing.T) {
	results := make([]scenarioResult, len(scenarioWays))
	names := make([]string, len(scenarioWays))
	t.Run("ways", func(t *testing.T) {
		for i, w := range scenarioWays {
			names[i] = w.name
			t.Run(w.name, func(t *testing.T) {
				t.Parallel()
				results[i] = runScenario(t, w.start(t, mailpittest.Start(t, 0)))
			})
		}
	})
	for i, r := range results {
		if r == nil {
			t.Fatalf("%s did not finish the scenario: nothing to compare", names[i])
		}
	}
	compareResults(t, names, results)
}

// scenarioMailEnv sends reporting's mail to mailpit over SMTP, checking for
// due mail often (the test waits for it).
func scenarioMailEnv(mp *mailpittest.Server) []string {
	return []string{
		"BELLHOP_REPORTING_MAIL_SENDER=smtp",
		"BELLHOP_REPORTING_MAIL_SMTP_HOST=127.0.0.1",
		"BELLHOP_REPORTING_MAIL_SMTP_PORT=" + strconv.Itoa(mp.SMTPPort),
		"BELLHOP_REPORTING_MAIL_SMTP_TLS_POLICY=none",
		"BELLHOP_REPORTING_MAIL_POLL=200ms",
		"BELLHOP_REPORTING_MAIL_RETRY_BASE=100ms",
	}
}

// startMonolithSQLite is `bellhop serve` on a copy of the seeded data dir.
func startMonolithSQLite(t *testing.T, mp *mailpittest.Server) scenarioTarget {
	dir, adminPassword := seededDataDirWithAdmin(t)
	p := start(t, scenarioMailEnv(mp), "--data-dir", dir)
	return scenarioTarget{Base: p.URL, Mail: mp, AdminEmail: "admin@bellhop.demo", AdminPassword: adminPassword}
}

// startSplitSQLite is `bellhop split` running configs/split.yaml (a NATS
// server, the gateway and a process per module, each on its own SQLite
// files) on free ports; reporting's process mails through mp.
func startSplitSQLite(t *testing.T, mp *mailpittest.Server) scenarioTarget {
	r := startSplit(t, scenarioMailEnv(mp)...)
	return scenarioTarget{Base: r.Launch.GatewayURL, Mail: mp, AdminEmail: "admin@bellhop.demo", AdminPassword: r.AdminPassword}
}

// startMonolithPostgres is `bellhop serve` with every module's database in
// PostgreSQL (a database each in the test binary's cluster), seeded there.
// (The sandbox bank and the dashboard's sessions, which are not modules,
// stay in SQLite files in the data dir.)
func startMonolithPostgres(t *testing.T, mp *mailpittest.Server) scenarioTarget {
	cluster := pgtest.Start(t)
	var env []string
	for _, m := range splitModules { // every module (TestSplit_OneCommand keeps the list whole)
		env = append(env, "BELLHOP_MODULES_"+strings.ToUpper(m.Name)+"_DSN="+cluster.NewDatabase(t))
	}
	dir := t.TempDir()
	seed := exec.Command(binary, "seed", "--data-dir", dir)
	seed.Env = append(seed.Environ(), env...)
	out, err := seed.CombinedOutput()
	if err != nil {
		t.Fatalf("seed on PostgreSQL: %v\n%s", err, out)
	}
	m := seededAdmin.FindSubmatch(out)
	if m == nil {
		t.Fatalf("seed on PostgreSQL printed no demo admin password:\n%s", out)
	}
	p := start(t, append(env, scenarioMailEnv(mp)...), "--data-dir", dir)
	return scenarioTarget{Base: p.URL, Mail: mp, AdminEmail: "admin@bellhop.demo", AdminPassword: string(m[1])}
}
