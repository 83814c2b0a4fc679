package topology_test

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/bellhop/bellhop/cmd/internal/topology"
	"github.com/bellhop/bellhop/configs"
	"github.com/bellhop/bellhop/modules/auth/authmodule"
	"github.com/bellhop/bellhop/modules/bookings/bookingsmodule"
	"github.com/bellhop/bellhop/modules/payments/paymentsmodule"
	"github.com/bellhop/bellhop/modules/reporting/reportingmodule"
	"github.com/bellhop/bellhop/modules/search/searchmodule"
	"github.com/bellhop/bellhop/platform/host"
)

var deployDir = filepath.Join("..", "..", "..", "configs", "deploy")

func checkedInTopology(t *testing.T) *topology.Topology {
	t.Helper()
	topo, err := topology.Load(filepath.Join("..", "..", "..", "configs", "split.yaml"), modules)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// The files in configs/deploy are what `bellhop split deploy` makes of
// configs/split.yaml, byte for byte, and nothing else.
func TestDeployment_GeneratedFromTopology(t *testing.T) {
	t.Parallel()
	want, err := checkedInTopology(t).RenderDeployment(modules)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(deployDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(deployDir, path)
		seen[rel] = true
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if w, ok := want[rel]; !ok {
			t.Errorf("configs/deploy/%s is not generated from the topology: remove it", rel)
		} else if !bytes.Equal(b, w) {
			t.Errorf("configs/deploy/%s differs from what the topology generates: run `go run ./cmd/bellhop split deploy`", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("configs/deploy/%s is missing: run `go run ./cmd/bellhop split deploy`", name)
		}
	}
}

// The Compose file passes the Compose specification's loader (its JSON
// schema and its own checks) and runs what split.yaml says: each process
// as a service on its port with its settings, one NATS, one PostgreSQL.
func TestDeployment_Compose(t *testing.T) {
	t.Parallel()
	topo := checkedInTopology(t)
	b, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env := types.Mapping{"POSTGRES_PASSWORD": "pg-secret"}
	for _, id := range topo.Identities() {
		env[strings.ToUpper(id.ClientID)+"_CLIENT_SECRET"] = id.ClientID + "-secret"
	}
	load := func(env types.Mapping) (*types.Project, error) {
		return loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  deployDir,
			ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: b}},
			Environment: env,
		}, func(o *loader.Options) { o.SetProjectName("bellhop", true) })
	}
	// Without the secrets it refuses to run, naming the missing one.
	if _, err := load(types.Mapping{}); err == nil || !strings.Contains(err.Error(), "set ") {
		t.Errorf("compose without the secrets: %v, want an error naming a missing variable", err)
	}
	project, err := load(env)
	if err != nil {
		t.Fatalf("compose-go: %v", err)
	}
	for _, name := range []string{"nats", "postgres"} {
		if _, ok := project.Services[name]; !ok {
			t.Errorf("no %s service", name)
		}
	}
	if got := project.Services["nats"].Command; !slices.Equal(got, []string{"-js", "-sd", "/data", "-p", strconv.Itoa(topo.NATS.Port)}) {
		t.Errorf("nats runs %v", got)
	}
	deployed := topo.Deployment(modules)
	if len(project.Services) != len(deployed)+2 {
		t.Errorf("%d services, want %d (the processes, NATS, PostgreSQL)", len(project.Services), len(deployed)+2)
	}
	for _, d := range deployed {
		svc, ok := project.Services[d.Name]
		if !ok {
			t.Errorf("no service %s", d.Name)
			continue
		}
		port := strconv.Itoa(d.Port)
		if d.Name == topology.GatewayName {
			if len(svc.Ports) != 1 || svc.Ports[0].Target != uint32(d.Port) || svc.Ports[0].Published != port || svc.Ports[0].HostIP != "127.0.0.1" {
				t.Errorf("gateway publishes %+v, want 127.0.0.1:%d", svc.Ports, d.Port)
			}
		} else if !slices.Equal(svc.Expose, []string{port}) {
			t.Errorf("%s exposes %v, want %s", d.Name, svc.Expose, port)
		}
		for k, v := range d.Env {
			if got := svc.Environment[k]; got == nil || *got != v {
				t.Errorf("%s: %s = %v, want %q", d.Name, k, got, v)
			}
		}
		for k := range d.SecretEnv {
			if got := svc.Environment[k]; got == nil || *got == "" {
				t.Errorf("%s: secret %s is not set", d.Name, k)
			}
		}
		if len(svc.Environment) != len(d.Env)+len(d.SecretEnv) {
			t.Errorf("%s has %d settings, want %d", d.Name, len(svc.Environment), len(d.Env)+len(d.SecretEnv))
		}
		if id := identityOf(topo, d.Name); id != nil {
			if got := svc.Environment["BELLHOP_AUTH_CLIENT_SECRET"]; got == nil || *got != id.ClientID+"-secret" {
				t.Errorf("%s's client secret is not its variable's", d.Name)
			}
		}
	}
	// Auth's process creates every identity with the secret its process has.
	authSvc := project.Services[topo.HostOf("auth").Name]
	if len(authSvc.Configs) != 1 || authSvc.Configs[0].Target != topology.ServiceClientsFile {
		t.Fatalf("auth's service clients file is not mounted: %+v", authSvc.Configs)
	}
	checkServiceClients(t, topo, project.Configs[authSvc.Configs[0].Source].Content, func(id string) string { return id + "-secret" })
}

func identityOf(topo *topology.Topology, process string) *topology.Identity {
	for _, id := range topo.Identities() {
		if id.Process == process {
			return &id.Identity
		}
	}
	return nil
}

// checkServiceClients reads a service clients file as bellhop does and
// compares it with the topology's identities.
func checkServiceClients(t *testing.T, topo *topology.Topology, content string, secretOf func(clientID string) string) {
	t.Helper()
	var file struct {
		Auth struct {
			ServiceClients []struct {
				ID     string   `yaml:"id"`
				Secret string   `yaml:"secret"`
				Scopes []string `yaml:"scopes"`
			} `yaml:"service_clients"`
		} `yaml:"auth"`
	}
	dec := yaml.NewDecoder(strings.NewReader(content))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("service clients file: %v\n%s", err, content)
	}
	ids := topo.Identities()
	if len(file.Auth.ServiceClients) != len(ids) {
		t.Fatalf("%d service clients, want %d", len(file.Auth.ServiceClients), len(ids))
	}
	for i, id := range ids {
		sc := file.Auth.ServiceClients[i]
		if sc.ID != id.ClientID || !slices.Equal(sc.Scopes, id.Scopes) || sc.Secret != secretOf(id.ClientID) {
			t.Errorf("service client %d: %+v, want %s %v", i, sc, id.ClientID, id.Scopes)
		}
	}
}

// The Kubernetes manifests decode strictly (no unknown field) into the
// Kubernetes API's types, and run what split.yaml says: per process a
// ConfigMap with its settings, a Secret with its secret ones, a Deployment
// on its port reading both, and a Service selecting it; NATS and
// PostgreSQL the same way.
func TestDeployment_Kubernetes(t *testing.T) {
	t.Parallel()
	topo := checkedInTopology(t)
	type object struct {
		kind string
		v    any
	}
	objects := map[string]object{} // by kind/name
	files, _ := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no manifests")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			var tm metav1.TypeMeta
			if err := k8syaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			var v any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				v = &appsv1.Deployment{}
			case "v1 Service":
				v = &corev1.Service{}
			case "v1 ConfigMap":
				v = &corev1.ConfigMap{}
			case "v1 Secret":
				v = &corev1.Secret{}
			default:
				t.Fatalf("%s document %d: unexpected %s %s", f, i, tm.APIVersion, tm.Kind)
			}
			if err := k8syaml.UnmarshalStrict([]byte(doc), v); err != nil {
				t.Fatalf("%s document %d (%s): %v", filepath.Base(f), i, tm.Kind, err)
			}
			name := v.(metav1.Object).GetName()
			key := tm.Kind + "/" + name
			if _, dup := objects[key]; dup {
				t.Errorf("%s twice", key)
			}
			objects[key] = object{kind: tm.Kind, v: v}
		}
	}
	get := func(kind, name string) any {
		t.Helper()
		o, ok := objects[kind+"/"+name]
		if !ok {
			t.Fatalf("no %s %s", kind, name)
		}
		return o.v
	}
	// A Deployment, and a Service selecting its pods on port.
	checkWorkload := func(name string, port int) *corev1.Container {
		t.Helper()
		dep := get("Deployment", name).(*appsv1.Deployment)
		svc := get("Service", name).(*corev1.Service)
		labels := dep.Spec.Template.Labels
		for k, v := range dep.Spec.Selector.MatchLabels {
			if labels[k] != v {
				t.Errorf("Deployment %s selects %s=%s, its pods have %q", name, k, v, labels[k])
			}
		}
		if !maps.Equal(svc.Spec.Selector, dep.Spec.Selector.MatchLabels) {
			t.Errorf("Service %s selects %v, Deployment %s's pods are %v", name, svc.Spec.Selector, name, dep.Spec.Selector.MatchLabels)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != int32(port) {
			t.Errorf("Service %s ports %+v, want %d", name, svc.Spec.Ports, port)
		}
		if len(dep.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("Deployment %s: %d containers", name, len(dep.Spec.Template.Spec.Containers))
		}
		c := &dep.Spec.Template.Spec.Containers[0]
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != int32(port) {
			t.Errorf("Deployment %s container ports %+v, want %d", name, c.Ports, port)
		}
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil {
				get("ConfigMap", v.ConfigMap.Name)
			}
			if v.Secret != nil {
				get("Secret", v.Secret.SecretName)
			}
		}
		return c
	}
	checkWorkload(topology.NATSName, topo.NATS.Port)
	pg := checkWorkload("postgres", 5432)
	get("Secret", pg.Env[1].ValueFrom.SecretKeyRef.Name)
	initSQL := get("ConfigMap", "postgres-init").(*corev1.ConfigMap).Data["databases.sql"]

	deployed := topo.Deployment(modules)
	for _, d := range deployed {
		c := checkWorkload(d.Name, d.Port)
		cm := get("ConfigMap", d.Name).(*corev1.ConfigMap)
		if !maps.Equal(cm.Data, d.Env) {
			t.Errorf("ConfigMap %s: %v, want %v", d.Name, cm.Data, d.Env)
		}
		sec := get("Secret", d.Name).(*corev1.Secret)
		if got, want := slices.Sorted(maps.Keys(sec.StringData)), slices.Sorted(maps.Keys(d.SecretEnv)); !slices.Equal(got, want) {
			t.Errorf("Secret %s holds %v, want %v", d.Name, got, want)
		}
		var refs []string
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				refs = append(refs, "ConfigMap/"+ef.ConfigMapRef.Name)
			case ef.SecretRef != nil:
				refs = append(refs, "Secret/"+ef.SecretRef.Name)
			}
		}
		if want := []string{"ConfigMap/" + d.Name, "Secret/" + d.Name}; !slices.Equal(refs, want) {
			t.Errorf("Deployment %s reads %v, want %v", d.Name, refs, want)
		}
		for _, db := range d.Databases {
			if !strings.Contains(initSQL, "CREATE DATABASE "+db+";") {
				t.Errorf("PostgreSQL creates no database %s", db)
			}
		}
		if len(d.ServiceClients) > 0 {
			if !slices.Equal(c.Args, []string{"serve", "--config", topology.ServiceClientsFile}) {
				t.Errorf("%s runs %v, want it to read %s", d.Name, c.Args, topology.ServiceClientsFile)
			}
			file := get("Secret", d.Name+"-service-clients").(*corev1.Secret).StringData["service-clients.yaml"]
			checkServiceClients(t, topo, file, func(id string) string {
				// The same placeholder as the secret of the identity's own process.
				for _, o := range deployed {
					if o.Env["BELLHOP_AUTH_CLIENT_ID"] == id {
						return get("Secret", o.Name).(*corev1.Secret).StringData["BELLHOP_AUTH_CLIENT_SECRET"]
					}
				}
				return "no process has " + id
			})
		}
	}
	for _, m := range modules {
		if p := topo.HostOf(m.Name); p == nil || objects["Deployment/"+p.Name].v == nil {
			t.Errorf("module %s runs in no Deployment", m.Name)
		}
	}
}

// Every setting the deployment files give a process is one of bellhop's
// configuration keys (an unknown BELLHOP_ variable would be ignored
// silently), and the process hosting auth reads a valid configuration.
func TestDeployment_SettingsAreConfigKeys(t *testing.T) {
	t.Parallel()
	mods := []host.Module{authmodule.Module(), bookingsmodule.Module(), paymentsmodule.Module(), reportingmodule.Module(), searchmodule.Module()}
	keys := map[string]bool{}
	var flatten func(prefix string, v any)
	flatten = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, sub := range m {
				flatten(strings.TrimPrefix(prefix+"."+k, "."), sub)
			}
			return
		}
		keys["BELLHOP_"+strings.ToUpper(strings.ReplaceAll(prefix, ".", "_"))] = true
	}
	for _, defaults := range append([][]byte{configs.Default}, sectionDefaults(mods)...) {
		var m map[string]any
		if err := yaml.Unmarshal(defaults, &m); err != nil {
			t.Fatal(err)
		}
		flatten("", m)
	}
	for _, m := range mods {
		keys["BELLHOP_MODULES_"+strings.ToUpper(m.Name)+"_URL"] = true
		keys["BELLHOP_MODULES_"+strings.ToUpper(m.Name)+"_DSN"] = true
	}
	for _, d := range checkedInTopology(t).Deployment(modules) {
		for _, k := range append(slices.Collect(maps.Keys(d.Env)), slices.Collect(maps.Keys(d.SecretEnv))...) {
			if !keys[k] {
				t.Errorf("%s: %s is no configuration key", d.Name, k)
			}
		}
	}
	if !keys["BELLHOP_EVENTS_NATS_CONNECT_WAIT"] || !keys["BELLHOP_AUTH_CLIENT_SECRET"] {
		t.Fatalf("the key set is incomplete: %d keys", len(keys))
	}
}

func sectionDefaults(mods []host.Module) [][]byte {
	var out [][]byte
	for _, s := range host.Sections(mods) {
		out = append(out, s.Defaults)
	}
	return out
}
