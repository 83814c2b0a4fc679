// Package config loads Bellhop's configuration with viper: the embedded
// defaults (configs/bellhop.yaml for the process, plus each module's own
// section, see [Section]), then an optional file, then BELLHOP_* environment
// variables, then command-line flags. The result is validated once, at
// start, with messages that name the key and what it allows. It names no
// module: modules declare their sections and the binary passes them in.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/bellhop/bellhop/configs"
	"github.com/bellhop/bellhop/platform/observability"
)

// Config is everything Bellhop reads at start.
type Config struct {
	DataDir    string                      `mapstructure:"data_dir"`
	Server     Server                      `mapstructure:"server"`
	Log        Log                         `mapstructure:"log"`
	Events     Events                      `mapstructure:"events"`
	HTTPClient HTTPClient                  `mapstructure:"http_client"`
	Tracing    observability.TracingConfig `mapstructure:"tracing"`
	Only       []string                    `mapstructure:"only"`
	Modules    map[string]ModuleConfig     `mapstructure:"modules"`
	// Shadow is the host-level form of modules.<name>.shadow: module name →
	// the URL of its remote copy (merged into Modules at load).
	Shadow map[string]string `mapstructure:"shadow"`

	// sections are the modules' own sections, by key.
	sections map[string]Section
}

// Server configures the HTTP server.
type Server struct {
	Addr               string        `mapstructure:"addr"`
	ReadHeaderTimeout  time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout        time.Duration `mapstructure:"read_timeout"`
	WriteTimeout       time.Duration `mapstructure:"write_timeout"`
	IdleTimeout        time.Duration `mapstructure:"idle_timeout"`
	ShutdownTimeout    time.Duration `mapstructure:"shutdown_timeout"`
	BodyLimit          int64         `mapstructure:"body_limit"`
	TrustedProxies     []string      `mapstructure:"trusted_proxies"`
	CORSAllowedOrigins []string      `mapstructure:"cors_allowed_origins"`
	RateLimit          RateLimit     `mapstructure:"rate_limit"`
	// PprofAddr: a separate listener for net/http/pprof (empty: none).
	PprofAddr string `mapstructure:"pprof_addr"`
	// MetricsToken: a bearer token Prometheus sends to scrape /metrics from
	// anywhere (empty: /metrics answers loopback peers only).
	MetricsToken string `mapstructure:"metrics_token"`
}

// RateLimit is a token bucket per caller.
type RateLimit struct {
	Enabled bool    `mapstructure:"enabled"`
	RPS     float64 `mapstructure:"rps"`
	Burst   int     `mapstructure:"burst"`
}

// Log configures the process logger.
type Log struct {
	Format    string `mapstructure:"format"`
	Level     string `mapstructure:"level"`
	AccessLog bool   `mapstructure:"access_log"`
}

// Events configures the event backbone.
type Events struct {
	NATS            NATS          `mapstructure:"nats"`
	StreamMaxAge    time.Duration `mapstructure:"stream_max_age"`
	OutboxRetention time.Duration `mapstructure:"outbox_retention"`
	MaxDeliver      int           `mapstructure:"max_deliver"`
}

// NATS says which NATS server carries events.
type NATS struct {
	URL          string `mapstructure:"url"`           // "": embedded
	EmbeddedPort int    `mapstructure:"embedded_port"` // 0: no listener
	// ConnectWait is how long a process keeps trying to reach the NATS
	// server at URL at start (0: fail at once).
	ConnectWait time.Duration `mapstructure:"connect_wait"`
}

// HTTPClient configures calls to remote modules.
type HTTPClient struct {
	Timeout            time.Duration `mapstructure:"timeout"`
	Retries            int           `mapstructure:"retries"`
	RetryBackoff       time.Duration `mapstructure:"retry_backoff"`
	BreakerFailures    uint32        `mapstructure:"breaker_failures"`
	BreakerOpenTimeout time.Duration `mapstructure:"breaker_open_timeout"`
}

// ModuleConfig says where a module runs and where its data lives.
type ModuleConfig struct {
	URL string `mapstructure:"url"` // set: the module is remote, called over HTTP
	DSN string `mapstructure:"dsn"` // "" = SQLite file in data_dir; postgres://... = PostgreSQL
	// Shadow, set on a module hosted here, is the base URL of a remote copy
	// of it: the module keeps serving in-process and replays a sample
	// (ShadowRatio) of its read calls against the copy, comparing answers.
	Shadow      string  `mapstructure:"shadow"`
	ShadowRatio float64 `mapstructure:"shadow_ratio"`
}

// DefaultShadowRatio is the share of read calls a shadowed module replays
// when modules.<name>.shadow_ratio is not set.
const DefaultShadowRatio = 0.1

// Options are the inputs Load combines with the embedded defaults.
type Options struct {
	File  string         // --config; "" for none
	Flags *pflag.FlagSet // flags bound by name (addr, data-dir, only, remote), may be nil
	// Modules are the module names this binary knows, for validating --only,
	// --remote and modules.* keys.
	Modules []string
	// Sections are the modules' own sections (their keys, defaults and
	// validation).
	Sections []SectionSpec
	// Overrides are keys set by the caller above flags, environment and
	// file (e.g. the address, data directory and modules a topology gives a
	// process, which a BELLHOP_* variable must not change).
	Overrides map[string]any
}

// flagKeys maps command-line flags to configuration keys.
var flagKeys = map[string]string{
	"addr":      "server.addr",
	"data-dir":  "data_dir",
	"only":      "only",
	"log-level": "log.level",
}

// Load reads and validates the configuration.
func Load(o Options) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(configs.Default)); err != nil {
		return nil, fmt.Errorf("config: embedded defaults: %w", err)
	}
	for _, spec := range o.Sections {
		if err := v.MergeConfig(bytes.NewReader(spec.Defaults)); err != nil {
			return nil, fmt.Errorf("config: embedded defaults of %s: %w", spec.Key, err)
		}
	}
	// Every known module has modules.<name>.url and .dsn, so BELLHOP_MODULES_*
	// variables reach them.
	for _, name := range o.Modules {
		v.SetDefault("modules."+name+".url", "")
		v.SetDefault("modules."+name+".dsn", "")
		v.SetDefault("modules."+name+".shadow", "")
		v.SetDefault("modules."+name+".shadow_ratio", 0.0)
	}
	if o.File != "" {
		if _, err := os.Stat(o.File); err != nil {
			return nil, fmt.Errorf("config: --config %s: %w", o.File, errors.Unwrap(err))
		}
		v.SetConfigFile(o.File)
		if err := v.MergeInConfig(); err != nil {
			return nil, fmt.Errorf("config: %s: %s", o.File, oneLine(err.Error()))
		}
	}
	v.SetEnvPrefix("BELLHOP")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if o.Flags != nil {
		for flag, key := range flagKeys {
			if f := o.Flags.Lookup(flag); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return nil, fmt.Errorf("config: flag --%s: %w", flag, err)
				}
			}
		}
		if f := o.Flags.Lookup("remote"); f != nil && f.Changed {
			remotes, err := o.Flags.GetStringSlice("remote")
			if err != nil {
				return nil, fmt.Errorf("config: --remote: %w", err)
			}
			for _, r := range remotes {
				name, u, ok := strings.Cut(r, "=")
				if !ok || name == "" || u == "" {
					return nil, fmt.Errorf("config: --remote %q: want MODULE=URL, e.g. search=http://127.0.0.1:8101", r)
				}
				if !slices.Contains(o.Modules, name) {
					return nil, fmt.Errorf("config: --remote %q: unknown module %q (known: %s)", r, name, strings.Join(o.Modules, ", "))
				}
				v.Set("modules."+name+".url", u)
			}
		}
	}
	for key, value := range o.Overrides {
		v.Set(key, value)
	}
	var c Config
	hooks := mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)
	// As viper's UnmarshalExact, but the modules' sections go to theirs.
	all := v.AllSettings()
	c.sections = map[string]Section{}
	for _, spec := range o.Sections {
		sec := spec.New()
		if err := decodeExact(all[spec.Key], sec, hooks); err != nil {
			return nil, fmt.Errorf("config: %s: %s", spec.Key, oneLine(err.Error()))
		}
		c.sections[spec.Key] = sec
		delete(all, spec.Key)
	}
	if err := decodeExact(all, &c, hooks); err != nil {
		return nil, fmt.Errorf("config: %s", oneLine(err.Error()))
	}
	c.Only = trimAll(c.Only)
	for name, u := range c.Shadow {
		m := c.Modules[name]
		if m.Shadow == "" {
			m.Shadow = u
			if c.Modules == nil {
				c.Modules = map[string]ModuleConfig{}
			}
			c.Modules[name] = m
		}
	}
	for name, m := range c.Modules {
		if m.Shadow != "" && m.ShadowRatio == 0 {
			m.ShadowRatio = DefaultShadowRatio
			c.Modules[name] = m
		}
	}
	c.Server.TrustedProxies = trimAll(c.Server.TrustedProxies)
	c.Server.CORSAllowedOrigins = trimAll(c.Server.CORSAllowedOrigins)
	if err := c.validate(o.Modules); err != nil {
		return nil, err
	}
	return &c, nil
}

// Hosts reports whether this process hosts module (it is not remote, and
// --only, if given, names it).
func (c *Config) Hosts(module string) bool {
	if c.Modules[module].URL != "" {
		return false
	}
	return len(c.Only) == 0 || slices.Contains(c.Only, module)
}

// Split reports whether modules are spread over several processes.
func (c *Config) Split() bool {
	if len(c.Only) > 0 {
		return true
	}
	for _, m := range c.Modules {
		if m.URL != "" {
			return true
		}
	}
	return false
}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
	multiSpace = regexp.MustCompile(`\s+`)
)

func (c *Config) validate(known []string) error {
	var p Problems
	bad := p.Add
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	if err := checkHostPort(c.Server.Addr); err != nil {
		bad("server.addr", "%q %v", c.Server.Addr, err)
	}
	if t := c.Server.MetricsToken; t != "" && len(t) < 32 {
		bad("server.metrics_token", "must be at least 32 characters (e.g. the output of `openssl rand -hex 32`)")
	}
	if c.Server.PprofAddr != "" {
		if err := checkHostPort(c.Server.PprofAddr); err != nil {
			bad("server.pprof_addr", "%q %v", c.Server.PprofAddr, err)
		}
	}
	for key, d := range map[string]time.Duration{
		"server.read_header_timeout":       c.Server.ReadHeaderTimeout,
		"server.read_timeout":              c.Server.ReadTimeout,
		"server.write_timeout":             c.Server.WriteTimeout,
		"server.idle_timeout":              c.Server.IdleTimeout,
		"server.shutdown_timeout":          c.Server.ShutdownTimeout,
		"http_client.timeout":              c.HTTPClient.Timeout,
		"events.stream_max_age":            c.Events.StreamMaxAge,
		"events.outbox_retention":          c.Events.OutboxRetention,
		"http_client.retry_backoff":        c.HTTPClient.RetryBackoff,
		"http_client.breaker_open_timeout": c.HTTPClient.BreakerOpenTimeout,
	} {
		p.PositiveDuration(key, d)
	}
	if c.Server.BodyLimit < 1024 || c.Server.BodyLimit > 64<<20 {
		bad("server.body_limit", "must be between 1024 and %d bytes (got %d)", 64<<20, c.Server.BodyLimit)
	}
	for _, cidr := range c.Server.TrustedProxies {
		// A bare address is a one-address range, as httpserver reads it.
		if _, _, err := net.ParseCIDR(cidr); err != nil && net.ParseIP(cidr) == nil {
			bad("server.trusted_proxies", "%q is not a CIDR such as 10.0.0.0/8 or an IP address", cidr)
		}
	}
	for _, o := range c.Server.CORSAllowedOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			bad("server.cors_allowed_origins", "%q is not an origin such as https://app.example.com", o)
		}
	}
	if rl := c.Server.RateLimit; rl.Enabled && (rl.RPS <= 0 || rl.Burst < 1) {
		bad("server.rate_limit", "rps must be > 0 and burst >= 1 when enabled (got rps=%v burst=%d)", rl.RPS, rl.Burst)
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		bad("log.format", "%q is not one of %s", c.Log.Format, strings.Join(logFormats, ", "))
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		bad("log.level", "%q is not one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if u := c.Events.NATS.URL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "nats" && p.Scheme != "tls") || p.Host == "" {
			bad("events.nats.url", "%q is not a NATS URL such as nats://127.0.0.1:4222", u)
		}
	} else if c.Split() {
		bad("events.nats.url", "is required when a module is remote or --only is used: every process must share one NATS server (e.g. nats://127.0.0.1:4222)")
	}
	if w := c.Events.NATS.ConnectWait; w < 0 || w > 10*time.Minute {
		bad("events.nats.connect_wait", "must be between 0s and 10m (got %s)", w)
	}
	if p := c.Events.NATS.EmbeddedPort; p < 0 || p > 65535 {
		bad("events.nats.embedded_port", "must be between 0 and 65535 (got %d)", p)
	}
	if c.Events.MaxDeliver < 1 || c.Events.MaxDeliver > 100 {
		bad("events.max_deliver", "must be between 1 and 100 (got %d)", c.Events.MaxDeliver)
	}
	if c.HTTPClient.Retries < 0 || c.HTTPClient.Retries > 10 {
		bad("http_client.retries", "must be between 0 and 10 (got %d)", c.HTTPClient.Retries)
	}
	if c.HTTPClient.BreakerFailures < 1 {
		bad("http_client.breaker_failures", "must be at least 1")
	}
	c.Tracing.Check(func(key, format string, args ...any) { bad("tracing."+key, format, args...) })
	for _, m := range c.Only {
		if !slices.Contains(known, m) {
			bad("only", "unknown module %q (known: %s)", m, strings.Join(known, ", "))
		}
	}
	for name := range c.Shadow {
		if !slices.Contains(known, name) {
			bad("shadow."+name, "unknown module (known: %s)", strings.Join(known, ", "))
		}
	}
	for name, m := range c.Modules {
		key := "modules." + name
		if !slices.Contains(known, name) {
			bad(key, "unknown module (known: %s)", strings.Join(known, ", "))
			continue
		}
		if m.URL != "" {
			if err := CheckHTTPURL(m.URL); err != nil {
				bad(key+".url", "%q %v", m.URL, err)
			}
			if slices.Contains(c.Only, name) {
				bad(key+".url", "module %q cannot be both hosted here (--only) and remote", name)
			}
		}
		if m.Shadow != "" {
			if err := CheckHTTPURL(m.Shadow); err != nil {
				bad(key+".shadow", "%q %v", m.Shadow, err)
			}
			if m.URL != "" {
				bad(key+".shadow", "module %q is remote (modules.%s.url): only a module hosted here can shadow its calls to a copy", name, name)
			}
			if m.ShadowRatio <= 0 || m.ShadowRatio > 1 {
				bad(key+".shadow_ratio", "must be more than 0 and at most 1 (got %g)", m.ShadowRatio)
			}
		}
		if dsn := m.DSN; dsn != "" && !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") && !strings.HasPrefix(dsn, "file:") {
			bad(key+".dsn", "must be empty (SQLite in data_dir), file:PATH (SQLite) or postgres://... (got a value of another form)")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.sections)) {
		c.sections[name].Validate(&p)
	}
	return p.err()
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("is not HOST:PORT, e.g. 127.0.0.1:8080")
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return errors.New("must use an IP address or localhost as host")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return errors.New("has a port outside 0-65535")
	}
	return nil
}

// CheckHTTPURL reports whether s is an absolute http(s) URL, in the words
// of the configuration's messages.
func CheckHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http(s) URL such as http://127.0.0.1:8101")
	}
	return nil
}

// decodeExact decodes in into out as viper's UnmarshalExact does: weakly
// typed, every key must land in a field.
func decodeExact(in, out any, hook mapstructure.DecodeHookFunc) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		WeaklyTypedInput: true, ErrorUnused: true, DecodeHook: hook, Result: out,
	})
	if err != nil {
		return err
	}
	return d.Decode(in)
}

func oneLine(s string) string { return strings.TrimSpace(multiSpace.ReplaceAllString(s, " ")) }

func trimAll(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
