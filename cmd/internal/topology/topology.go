// Package topology reads a split topology (configs/split.yaml: which module
// runs in which process, on which port, with which service identity, on one
// NATS server) and turns it into what runs it: each process's configuration,
// command line and data directory, a Procfile, and deployment files.
package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Topology is a split deployment: a NATS server, a gateway (the dashboard and
// the public API, every module remote) and the processes hosting the modules.
type Topology struct {
	NATS      NATS      `yaml:"nats"`
	Gateway   Gateway   `yaml:"gateway"`
	Processes []Process `yaml:"processes"`
}

// NATS is the one NATS server (JetStream) every process shares.
type NATS struct {
	Port int `yaml:"port"`
}

// Gateway is the process serving the dashboard and the public API, calling
// every module over HTTP.
type Gateway struct {
	Port            int       `yaml:"port"`
	ServiceIdentity *Identity `yaml:"service_identity"`
}

// Process is one process hosting modules.
type Process struct {
	Name            string    `yaml:"name"`
	Port            int       `yaml:"port"`
	Modules         []string  `yaml:"modules"`
	ServiceIdentity *Identity `yaml:"service_identity"`
}

// Identity is a process's service identity (OAuth2 client credentials) on
// other modules' service-only routes. Its secret is generated, not written
// in the topology.
type Identity struct {
	ClientID string   `yaml:"client_id"`
	Scopes   []string `yaml:"scopes"`
}

// Module is what the topology needs to know of a module: its name and the
// modules it calls (its process is given their URLs).
type Module struct {
	Name  string
	Calls []string
}

// GatewayName and NATSName are the names of the two processes every
// topology has besides its module processes.
const (
	GatewayName = "gateway"
	NATSName    = "nats"
)

// Load reads and validates the topology file at path against the modules
// the binary knows.
func Load(path string, modules []Module) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	t, err := Parse(b, modules)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse decodes a topology strictly (an unknown key is an error) and
// validates it.
func Parse(b []byte, modules []Module) (*Topology, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var t Topology
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty topology")
		}
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if err := t.Validate(modules); err != nil {
		return nil, err
	}
	return &t, nil
}

var processName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// Validate checks the topology: ports in range and used once, process names
// and client ids unique, every module the binary knows hosted by exactly one
// process, only known modules. The error names every problem.
func (t *Topology) Validate(modules []Module) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	known := map[string]bool{}
	for _, m := range modules {
		known[m.Name] = true
	}

	ports := map[int]string{}
	usePort := func(who string, port int) {
		switch {
		case port == 0:
			bad("%s.port: required", who)
		case port < 1 || port > 65535:
			bad("%s.port: %d is not a port (1-65535)", who, port)
		case ports[port] != "":
			bad("%s.port: %d is already %s's", who, port, ports[port])
		default:
			ports[port] = who
		}
	}
	usePort(NATSName, t.NATS.Port)
	usePort(GatewayName, t.Gateway.Port)

	clientIDs := map[string]string{}
	useIdentity := func(who string, id *Identity) {
		if id == nil {
			return
		}
		switch {
		case id.ClientID == "":
			bad("%s.service_identity.client_id: required", who)
		case clientIDs[id.ClientID] != "":
			bad("%s.service_identity.client_id: %q is already %s's", who, id.ClientID, clientIDs[id.ClientID])
		default:
			clientIDs[id.ClientID] = who
		}
		if len(id.Scopes) == 0 {
			bad("%s.service_identity.scopes: at least one scope", who)
		}
	}
	useIdentity(GatewayName, t.Gateway.ServiceIdentity)

	if len(t.Processes) == 0 {
		bad("processes: at least one")
	}
	names := map[string]bool{}
	hostedBy := map[string]string{}
	for i, p := range t.Processes {
		who := fmt.Sprintf("processes[%d]", i)
		switch {
		case !processName.MatchString(p.Name):
			bad("%s.name: %q: want lower-case letters, digits and dashes, starting with a letter", who, p.Name)
		case p.Name == GatewayName || p.Name == NATSName:
			bad("%s.name: %q is reserved", who, p.Name)
		case names[p.Name]:
			bad("%s.name: %q is used twice", who, p.Name)
		default:
			names[p.Name] = true
			who = p.Name
		}
		usePort(who, p.Port)
		useIdentity(who, p.ServiceIdentity)
		if len(p.Modules) == 0 {
			bad("%s.modules: at least one module", who)
		}
		for _, m := range p.Modules {
			switch {
			case !known[m]:
				bad("%s.modules: unknown module %q (known: %s)", who, m, strings.Join(moduleNames(modules), ", "))
			case hostedBy[m] != "":
				bad("%s.modules: %s is already hosted by %s (each module runs in one process)", who, m, hostedBy[m])
			default:
				hostedBy[m] = who
			}
		}
	}
	for _, m := range modules {
		if hostedBy[m.Name] == "" {
			bad("module %s is hosted by no process", m.Name)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// HostOf is the process hosting module ("" if none).
func (t *Topology) HostOf(module string) *Process {
	for i := range t.Processes {
		if slices.Contains(t.Processes[i].Modules, module) {
			return &t.Processes[i]
		}
	}
	return nil
}

// Identities are the service identities of the gateway and the processes,
// each with its process's name, in file order.
func (t *Topology) Identities() []NamedIdentity {
	var out []NamedIdentity
	if id := t.Gateway.ServiceIdentity; id != nil {
		out = append(out, NamedIdentity{Process: GatewayName, Identity: *id})
	}
	for _, p := range t.Processes {
		if p.ServiceIdentity != nil {
			out = append(out, NamedIdentity{Process: p.Name, Identity: *p.ServiceIdentity})
		}
	}
	return out
}

// NamedIdentity is a service identity and the process it belongs to.
type NamedIdentity struct {
	Process string
	Identity
}

func moduleNames(mods []Module) []string {
	out := make([]string, len(mods))
	for i, m := range mods {
		out[i] = m.Name
	}
	return out
}
