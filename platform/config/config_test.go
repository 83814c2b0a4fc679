package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/bellhop/bellhop/platform/config"
)

var modules = []string{"auth", "bookings", "payments", "search"}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.String("addr", "", "")
	fs.String("data-dir", "", "")
	fs.StringSlice("only", nil, "")
	fs.StringSlice("remote", nil, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestLoad_Defaults(t *testing.T) {
	c, err := config.Load(config.Options{Modules: modules, Flags: flags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "127.0.0.1:8080" || c.Server.ReadTimeout != 15*time.Second || !c.Hosts("search") || c.Split() {
		t.Fatalf("defaults wrong: %+v", c)
	}
}

func TestLoad_Precedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bellhop.yaml")
	if err := os.WriteFile(file, []byte("server:\n  addr: 127.0.0.1:9000\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BELLHOP_LOG_LEVEL", "warn")
	t.Setenv("BELLHOP_HTTP_CLIENT_TIMEOUT", "750ms")
	t.Setenv("BELLHOP_EVENTS_NATS_URL", "nats://127.0.0.1:4222")
	c, err := config.Load(config.Options{File: file, Modules: modules, Flags: flags(t, "--addr", "127.0.0.1:9100", "--remote", "search=http://127.0.0.1:8101")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Addr != "127.0.0.1:9100" {
		t.Errorf("flag should win: addr = %s", c.Server.Addr)
	}
	if c.Log.Level != "warn" {
		t.Errorf("env should beat file: level = %s", c.Log.Level)
	}
	if c.HTTPClient.Timeout != 750*time.Millisecond {
		t.Errorf("timeout = %s", c.HTTPClient.Timeout)
	}
	if c.Hosts("search") || c.Modules["search"].URL != "http://127.0.0.1:8101" || !c.Split() {
		t.Errorf("remote search not applied: %+v", c.Modules)
	}
}

// Overrides beat flags, environment and file: `bellhop split` seeds a
// process with the address, data directory and modules its topology gives
// it, whatever BELLHOP_* variables the shell has.
func TestLoad_OverridesBeatEverything(t *testing.T) {
	t.Setenv("BELLHOP_DATA_DIR", "/elsewhere")
	t.Setenv("BELLHOP_ONLY", "search")
	t.Setenv("BELLHOP_EVENTS_NATS_URL", "nats://127.0.0.1:4222")
	t.Setenv("BELLHOP_LOG_LEVEL", "warn")
	dir := t.TempDir()
	c, err := config.Load(config.Options{Modules: modules, Flags: flags(t, "--addr", "127.0.0.1:9100"),
		Overrides: map[string]any{"data_dir": dir, "only": []string{"bookings"}, "server.addr": "127.0.0.1:9200"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != dir || c.Server.Addr != "127.0.0.1:9200" || !c.Hosts("bookings") || c.Hosts("search") {
		t.Errorf("overrides not applied: data_dir %s, addr %s, only %v", c.DataDir, c.Server.Addr, c.Only)
	}
	if c.Log.Level != "warn" {
		t.Errorf("a key without an override still comes from the environment: level = %s", c.Log.Level)
	}
}

func TestLoad_Only(t *testing.T) {
	t.Setenv("BELLHOP_ONLY", "search")
	t.Setenv("BELLHOP_EVENTS_NATS_URL", "nats://127.0.0.1:4222")
	c, err := config.Load(config.Options{Modules: modules})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Hosts("search") || !c.Split() {
		t.Fatalf("only = %v", c.Only)
	}
}

// server.trusted_proxies: nobody by default; from the environment a
// comma-separated list of CIDRs or addresses (nginx's, at the edge).
func TestLoad_TrustedProxies(t *testing.T) {
	c, err := config.Load(config.Options{Modules: modules, Flags: flags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Server.TrustedProxies) != 0 {
		t.Fatalf("default trusted proxies = %q, want none", c.Server.TrustedProxies)
	}
	t.Setenv("BELLHOP_SERVER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,fd00::/8")
	c, err = config.Load(config.Options{Modules: modules, Flags: flags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Server.TrustedProxies, " "); got != "127.0.0.1 10.0.0.0/8 fd00::/8" {
		t.Fatalf("trusted proxies = %q", got)
	}
}

func TestLoad_Invalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad addr", nil, []string{"--addr", "nowhere"}, `server.addr: "nowhere" is not HOST:PORT`},
		{"bad duration", map[string]string{"BELLHOP_SERVER_READ_TIMEOUT": "soon"}, nil, "server.read_timeout"},
		{"negative duration", map[string]string{"BELLHOP_SERVER_WRITE_TIMEOUT": "-1s"}, nil, "server.write_timeout: must be a positive duration"},
		{"bad level", map[string]string{"BELLHOP_LOG_LEVEL": "loud"}, nil, `log.level: "loud" is not one of debug, info, warn, error`},
		{"unknown only", nil, []string{"--only", "billing"}, `only: unknown module "billing"`},
		{"unknown remote", nil, []string{"--remote", "billing=http://x:1"}, `unknown module "billing"`},
		{"remote without url", nil, []string{"--remote", "search"}, "want MODULE=URL"},
		{"remote bad url", nil, []string{"--remote", "search=ftp://x"}, "modules.search.url"},
		{"only and remote", nil, []string{"--only", "search", "--remote", "search=http://127.0.0.1:1"}, "cannot be both hosted here"},
		{"split without nats", nil, []string{"--only", "search"}, "events.nats.url: is required when a module is remote or --only is used"},
		{"bad nats url", map[string]string{"BELLHOP_EVENTS_NATS_URL": "http://x:1"}, nil, "events.nats.url"},
		{"bad dsn", map[string]string{"BELLHOP_MODULES_SEARCH_DSN": "mysql://x"}, nil, "modules.search.dsn"},
		{"bad trusted proxy", map[string]string{"BELLHOP_SERVER_TRUSTED_PROXIES": "127.0.0.1/32,nginx.local"}, nil, `server.trusted_proxies: "nginx.local" is not a CIDR`},
		// The payments section's own checks moved with it: see
		// modules/payments/paymentsmodule/config_test.go.
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := config.Load(config.Options{Modules: modules, Flags: flags(t, tc.args...)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoad_UnknownKeyInFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bellhop.yaml")
	if err := os.WriteFile(file, []byte("server:\n  adr: 127.0.0.1:9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(config.Options{File: file, Modules: modules})
	if err == nil || !strings.Contains(err.Error(), "adr") {
		t.Fatalf("err = %v, want the unknown key named", err)
	}
}

// Tracing is off by default; turned on by environment, it needs an endpoint,
// and every bad key is named.
func TestLoad_Tracing(t *testing.T) {
	c, err := config.Load(config.Options{Modules: modules, Flags: flags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Tracing.Exporter != "off" || c.Tracing.SampleRatio != 1 || c.Tracing.SlowThreshold != 500*time.Millisecond {
		t.Fatalf("tracing defaults: %+v", c.Tracing)
	}
	t.Setenv("BELLHOP_TRACING_EXPORTER", "otlp")
	t.Setenv("BELLHOP_TRACING_SAMPLE_RATIO", "0.25")
	_, err = config.Load(config.Options{Modules: modules, Flags: flags(t)})
	if err == nil || !strings.Contains(err.Error(), "tracing.endpoint") {
		t.Fatalf("otlp without an endpoint: %v", err)
	}
	t.Setenv("BELLHOP_TRACING_ENDPOINT", "http://127.0.0.1:4318")
	if c, err = config.Load(config.Options{Modules: modules, Flags: flags(t)}); err != nil || c.Tracing.SampleRatio != 0.25 || c.Tracing.Endpoint != "http://127.0.0.1:4318" {
		t.Fatalf("otlp: %+v %v", c, err)
	}
	t.Setenv("BELLHOP_TRACING_EXPORTER", "zipkin")
	t.Setenv("BELLHOP_TRACING_SAMPLE_RATIO", "2")
	_, err = config.Load(config.Options{Modules: modules, Flags: flags(t)})
	if err == nil || !strings.Contains(err.Error(), `tracing.exporter: "zipkin" is not one of off, otlp`) || !strings.Contains(err.Error(), "tracing.sample_ratio") {
		t.Fatalf("bad values: %v", err)
	}
}
