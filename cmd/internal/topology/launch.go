package topology

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Role is what a bellhop process of the topology is.
type Role struct {
	// Name is the process's name (GatewayName for the gateway).
	Name string
	Port int
	// Only are the modules it hosts; empty for the gateway, which hosts none.
	Only []string
	// Remote are the modules it calls over HTTP, by name, with the process
	// hosting each: those it (or the modules it hosts) calls, and auth (whose
	// keys verify tokens) where auth is not hosted here. The gateway calls
	// every module.
	Remote map[string]string
	// Identity is its service identity, if it has one.
	Identity *Identity
	// ServiceClients are the identities it creates at start: every one of
	// the topology, on the process hosting auth.
	ServiceClients []NamedIdentity
}

// Roles are the gateway and the module processes, in file order (gateway
// first), each with what it hosts and calls.
func (t *Topology) Roles(modules []Module) []Role {
	calls := map[string][]string{}
	for _, m := range modules {
		calls[m.Name] = m.Calls
	}
	authHost := ""
	if p := t.HostOf("auth"); p != nil {
		authHost = p.Name
	}
	gw := Role{Name: GatewayName, Port: t.Gateway.Port, Remote: map[string]string{}, Identity: t.Gateway.ServiceIdentity}
	for _, m := range modules {
		if p := t.HostOf(m.Name); p != nil {
			gw.Remote[m.Name] = p.Name
		}
	}
	out := []Role{gw}
	for _, p := range t.Processes {
		r := Role{Name: p.Name, Port: p.Port, Only: slices.Clone(p.Modules), Remote: map[string]string{}, Identity: p.ServiceIdentity}
		need := []string{}
		if authHost != "" && authHost != p.Name {
			need = append(need, "auth")
		}
		for _, m := range p.Modules {
			need = append(need, calls[m]...)
		}
		for _, m := range need {
			if host := t.HostOf(m); host != nil && host.Name != p.Name {
				r.Remote[m] = host.Name
			}
		}
		if authHost == p.Name {
			r.ServiceClients = t.Identities()
		}
		out = append(out, r)
	}
	return out
}

// LaunchOptions say where a topology runs on this machine.
type LaunchOptions struct {
	// Dir holds a directory per process (its databases, its configuration,
	// its generated secret), the NATS server's store and the Procfile,
	// e.g. data/split.
	Dir string
	// Bellhop and NATSServer are the programs to run.
	Bellhop, NATSServer string
	// Modules are the modules the binary knows.
	Modules []Module
}

// Command is one process to run.
type Command struct {
	// Name is the process's name: NATSName, GatewayName or a module
	// process's.
	Name string
	Path string
	Args []string
	// DataDir is its directory under LaunchOptions.Dir.
	DataDir string
	// ConfigFile is its bellhop configuration ("" for NATS).
	ConfigFile string
	// Hosts are the modules it hosts (none for NATS and the gateway).
	Hosts []string
	// URL is where it serves HTTP (its /readyz says when it is ready), or
	// the NATS URL.
	URL string
}

// Launch is a topology prepared to run.
type Launch struct {
	// Commands are NATS first, then the gateway, then the module processes.
	Commands []Command
	NATSURL  string
	// GatewayURL is where the dashboard and the public API are.
	GatewayURL string
	// Procfile is the path of the Procfile running every command.
	Procfile string
}

// Command is the command named name.
func (l *Launch) Command(name string) (Command, bool) {
	for _, c := range l.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

// Prepare writes what running the topology on loopback needs under o.Dir: a
// directory per process with its configuration file (mode 0600: it holds its
// service secret), the service identities' secrets (generated once, then
// reused), the NATS store directory and a Procfile. It seeds nothing (the
// bellhop binary does: `bellhop split --prepare-only`).
func (t *Topology) Prepare(o LaunchOptions) (*Launch, error) {
	if o.Dir == "" || o.Bellhop == "" || o.NATSServer == "" {
		return nil, errors.New("topology: Dir, Bellhop and NATSServer are required")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	urlOf := map[string]string{GatewayName: httpURL(t.Gateway.Port)}
	for _, p := range t.Processes {
		urlOf[p.Name] = httpURL(p.Port)
	}
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(t.NATS.Port)
	natsDir := filepath.Join(o.Dir, NATSName)
	if err := os.MkdirAll(natsDir, 0o700); err != nil {
		return nil, err
	}
	l := &Launch{NATSURL: natsURL, GatewayURL: urlOf[GatewayName], Procfile: filepath.Join(o.Dir, "Procfile")}
	l.Commands = append(l.Commands, Command{
		Name: NATSName, Path: o.NATSServer, DataDir: natsDir, URL: natsURL,
		Args: []string{"-a", "127.0.0.1", "-p", strconv.Itoa(t.NATS.Port), "-js", "-sd", natsDir},
	})

	secrets := map[string]string{} // by client id
	for _, id := range t.Identities() {
		s, err := secret(filepath.Join(o.Dir, id.Process, "client_secret"))
		if err != nil {
			return nil, err
		}
		secrets[id.ClientID] = s
	}
	for _, r := range t.Roles(o.Modules) {
		dir := filepath.Join(o.Dir, r.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		cfg := processConfig{
			DataDir: dir,
			Server:  serverConfig{Addr: "127.0.0.1:" + strconv.Itoa(r.Port)},
			Only:    r.Only,
			Log:     logConfig{Format: "text"},
			Events:  eventsConfig{NATS: natsConfig{URL: natsURL, ConnectWait: "30s"}},
			Modules: map[string]moduleConfig{},
		}
		for _, m := range slices.Sorted(maps.Keys(r.Remote)) {
			cfg.Modules[m] = moduleConfig{URL: urlOf[r.Remote[m]]}
		}
		// Every process names the gateway as the public address: auth's
		// OAuth metadata and absolute links must be the same whichever
		// process answers (through the gateway, nginx or auth's own port).
		cfg.Auth = &authConfig{PublicURL: urlOf[GatewayName]}
		if r.Identity != nil {
			cfg.Auth.ClientID, cfg.Auth.ClientSecret = r.Identity.ClientID, secrets[r.Identity.ClientID]
		}
		for _, sc := range r.ServiceClients {
			cfg.Auth.ServiceClients = append(cfg.Auth.ServiceClients, serviceClient{ID: sc.ClientID, Secret: secrets[sc.ClientID], Scopes: sc.Scopes})
		}
		b, err := yaml.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, "bellhop.yaml")
		head := "# Written by `bellhop split` from the topology: rewritten on every run, edit the topology instead.\n"
		if err := os.WriteFile(file, append([]byte(head), b...), 0o600); err != nil {
			return nil, err
		}
		l.Commands = append(l.Commands, Command{
			Name: r.Name, Path: o.Bellhop, Args: []string{"serve", "--config", file},
			DataDir: dir, ConfigFile: file, Hosts: r.Only, URL: urlOf[r.Name],
		})
	}
	var pf strings.Builder
	pf.WriteString("# Written by `bellhop split`: every process of the topology, for goreman, which\n" +
		"# stops them in this order on Ctrl-C: the gateway, the modules, then NATS.\n")
	for _, c := range append(l.Commands[1:], l.Commands[0]) {
		fmt.Fprintf(&pf, "%s: exec %s\n", c.Name, shellJoin(append([]string{c.Path}, c.Args...)))
	}
	if err := os.WriteFile(l.Procfile, []byte(pf.String()), 0o600); err != nil {
		return nil, err
	}
	return l, nil
}

// secret is the service secret kept in file, generated (256 random bits,
// hex) the first time.
func secret(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	s := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(file, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

func httpURL(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// shellJoin quotes words for sh where they need it.
func shellJoin(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
			out[i] = w
			continue
		}
		out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// processConfig is the part of bellhop's configuration a split process sets.
type processConfig struct {
	DataDir string                  `yaml:"data_dir"`
	Server  serverConfig            `yaml:"server"`
	Only    []string                `yaml:"only,omitempty,flow"`
	Log     logConfig               `yaml:"log"`
	Events  eventsConfig            `yaml:"events"`
	Modules map[string]moduleConfig `yaml:"modules,omitempty"`
	Auth    *authConfig             `yaml:"auth,omitempty"`
}

type logConfig struct {
	Format string `yaml:"format"`
}

type serverConfig struct {
	Addr string `yaml:"addr"`
}

type eventsConfig struct {
	NATS natsConfig `yaml:"nats"`
}

type natsConfig struct {
	URL         string `yaml:"url"`
	ConnectWait string `yaml:"connect_wait"`
}

type moduleConfig struct {
	URL string `yaml:"url"`
}

type authConfig struct {
	PublicURL      string          `yaml:"public_url"`
	ClientID       string          `yaml:"client_id,omitempty"`
	ClientSecret   string          `yaml:"client_secret,omitempty"`
	ServiceClients []serviceClient `yaml:"service_clients,omitempty"`
}

type serviceClient struct {
	ID     string   `yaml:"id"`
	Secret string   `yaml:"secret"`
	Scopes []string `yaml:"scopes,flow"`
}

// ProcessEnv is environ for the processes of a launch: without the BELLHOP_*
// variables that would override what the topology sets for each process
// (its address, data directory, modules, the NATS server, where the others
// are, its service identity) — set in the shell, one value would reach all
// seven processes, e.g. every one listening on one address. Every other
// BELLHOP_* variable (limits, logging, a module's PostgreSQL DSN, auth's
// public URL behind an edge) reaches every process, as it would the single
// binary. It returns the names it left out, for a warning.
func ProcessEnv(environ []string) (kept, ignored []string) {
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if setPerProcess(name) {
			ignored = append(ignored, name)
			continue
		}
		kept = append(kept, kv)
	}
	return kept, ignored
}

// setPerProcess reports whether the environment variable name sets a key
// the topology writes into each process's configuration.
func setPerProcess(name string) bool {
	switch name {
	case "BELLHOP_DATA_DIR", "BELLHOP_SERVER_ADDR", "BELLHOP_ONLY", "BELLHOP_EVENTS_NATS_URL",
		"BELLHOP_AUTH_CLIENT_ID", "BELLHOP_AUTH_CLIENT_SECRET", "BELLHOP_AUTH_SERVICE_CLIENTS":
		return true
	}
	// BELLHOP_MODULES_<NAME>_URL, where another process hosts NAME.
	module, ok := strings.CutPrefix(name, "BELLHOP_MODULES_")
	module, isURL := strings.CutSuffix(module, "_URL")
	return ok && isURL && module != "" && !strings.Contains(module, "_")
}
