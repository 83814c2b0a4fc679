package topology

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Deployed is a bellhop process as the deployment files run it: in a
// container named after it, reached at http://<name>:<port>, with its
// modules' databases on PostgreSQL.
type Deployed struct {
	Name string
	Port int
	// Env are its settings (a ConfigMap, the Compose environment), by name.
	Env map[string]string
	// SecretEnv are the names of its secret settings (a Secret; in Compose,
	// from variables of the shell that runs it), each with the Compose
	// variable it is read from.
	SecretEnv map[string]string
	// Databases are the PostgreSQL databases of the modules it hosts.
	Databases []string
	// ServiceClients are the identities it creates (the process hosting
	// auth), each with the Compose variable holding the secret.
	ServiceClients []DeployedClient
}

// DeployedClient is a service identity with the Compose variable holding
// its secret.
type DeployedClient struct {
	NamedIdentity
	Variable string
}

// deployFiles are the files WriteDeployment writes, relative to its dir.
const (
	composeFile   = "compose.yaml"
	kubernetesDir = "kubernetes"
	// ServiceClientsFile is where the process hosting auth reads its
	// service clients in a container (mounted from a Secret).
	ServiceClientsFile = "/etc/bellhop/service-clients.yaml"
)

// Deployment is how the deployment files run each bellhop process of the
// topology: the gateway first, then the module processes, in file order.
func (t *Topology) Deployment(modules []Module) []Deployed {
	port := map[string]int{GatewayName: t.Gateway.Port}
	for _, p := range t.Processes {
		port[p.Name] = p.Port
	}
	var out []Deployed
	for _, r := range t.Roles(modules) {
		d := Deployed{Name: r.Name, Port: r.Port, SecretEnv: map[string]string{}, Env: map[string]string{
			"BELLHOP_DATA_DIR":                 "/data",
			"BELLHOP_SERVER_ADDR":              "0.0.0.0:" + strconv.Itoa(r.Port),
			"BELLHOP_EVENTS_NATS_URL":          "nats://" + NATSName + ":" + strconv.Itoa(t.NATS.Port),
			"BELLHOP_EVENTS_NATS_CONNECT_WAIT": "60s",
			"BELLHOP_LOG_FORMAT":               "json",
			// The address guests reach the gateway at: OAuth metadata and
			// links name it whichever process answers. Compose publishes the
			// gateway there; behind an ingress, set it to the ingress's URL.
			"BELLHOP_AUTH_PUBLIC_URL": "http://127.0.0.1:" + strconv.Itoa(t.Gateway.Port),
		}}
		if len(r.Only) > 0 {
			d.Env["BELLHOP_ONLY"] = strings.Join(r.Only, ",")
		}
		for m, host := range r.Remote {
			d.Env["BELLHOP_MODULES_"+envName(m)+"_URL"] = "http://" + host + ":" + strconv.Itoa(port[host])
		}
		if r.Identity != nil {
			d.Env["BELLHOP_AUTH_CLIENT_ID"] = r.Identity.ClientID
			d.SecretEnv["BELLHOP_AUTH_CLIENT_SECRET"] = secretVariable(r.Identity.ClientID)
		}
		for _, m := range r.Only {
			d.Databases = append(d.Databases, m)
			d.SecretEnv["BELLHOP_MODULES_"+envName(m)+"_DSN"] = "POSTGRES_PASSWORD"
		}
		for _, sc := range r.ServiceClients {
			d.ServiceClients = append(d.ServiceClients, DeployedClient{NamedIdentity: sc, Variable: secretVariable(sc.ClientID)})
		}
		out = append(out, d)
	}
	return out
}

// DSN is the PostgreSQL DSN of module's database, with password.
func DSN(module, password string) string {
	return "postgres://bellhop:" + password + "@postgres:5432/" + module + "?sslmode=disable"
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

func secretVariable(clientID string) string { return envName(clientID) + "_CLIENT_SECRET" }

// WriteDeployment writes the topology's deployment files under dir: a
// Compose file and Kubernetes manifests (a ConfigMap, a Secret, a Deployment
// and a Service per process; NATS; PostgreSQL). It returns their paths.
func (t *Topology) WriteDeployment(dir string, modules []Module) ([]string, error) {
	files, err := t.RenderDeployment(modules)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return nil, err
		}
		out = append(out, path)
	}
	return out, nil
}

// RenderDeployment is the deployment files by path relative to their
// directory.
func (t *Topology) RenderDeployment(modules []Module) (map[string][]byte, error) {
	procs := t.Deployment(modules)
	var databases []string
	for _, p := range procs {
		databases = append(databases, p.Databases...)
	}
	data := map[string]any{
		"Procs": procs, "NATSPort": t.NATS.Port, "Databases": databases,
		"ServiceClientsFile": ServiceClientsFile, "Gateway": procs[0],
	}
	files := map[string][]byte{}
	render := func(name, tmpl string, data any) error {
		var b bytes.Buffer
		if err := template.Must(template.New(name).Funcs(funcs).Parse(tmpl)).Execute(&b, data); err != nil {
			return fmt.Errorf("topology: %s: %w", name, err)
		}
		files[name] = b.Bytes()
		return nil
	}
	if err := render(composeFile, composeTemplate, data); err != nil {
		return nil, err
	}
	if err := render(filepath.Join(kubernetesDir, "nats.yaml"), natsK8sTemplate, data); err != nil {
		return nil, err
	}
	if err := render(filepath.Join(kubernetesDir, "postgres.yaml"), postgresK8sTemplate, data); err != nil {
		return nil, err
	}
	for _, p := range procs {
		if err := render(filepath.Join(kubernetesDir, p.Name+".yaml"), processK8sTemplate, p); err != nil {
			return nil, err
		}
	}
	return files, nil
}

var funcs = template.FuncMap{
	"q":      strconv.Quote,
	"sorted": func(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) },
	"dsn":    DSN,
	"dsnOf": func(env string) string { // BELLHOP_MODULES_X_DSN → x
		return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(env, "BELLHOP_MODULES_"), "_DSN"))
	},
	"isDSN": func(env string) bool { return strings.HasSuffix(env, "_DSN") },
	"join":  strings.Join,
	"placeholder": func(name string) string {
		return "replace-me-" + strings.ToLower(strings.ReplaceAll(name, "_", "-")) + "-with-openssl-rand-hex-32"
	},
}

const header = `# Generated from configs/split.yaml by ` + "`bellhop split deploy`" + `: edit the topology, then
# regenerate (a test in make test checks the two match).
`

const composeTemplate = header + `# Docker Compose: the split topology on one or more machines, each module's
# data on PostgreSQL. Secrets come from the shell (or an .env file), never
# from this file: set POSTGRES_PASSWORD{{range .Procs}}{{range $env, $var := .SecretEnv}}{{if not (isDSN $env)}} {{$var}}{{end}}{{end}}{{end}}
# (e.g. openssl rand -hex 32 each). The image is Bellhop's binary (BELLHOP_IMAGE).
name: bellhop

services:
  nats:
    image: nats:2.10-alpine
    command: ["-js", "-sd", "/data", "-p", "{{.NATSPort}}"]
    volumes: ["nats-data:/data"]
    expose: ["{{.NATSPort}}"]
    restart: unless-stopped

  postgres:
    image: postgres:15
    environment:
      POSTGRES_USER: bellhop
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}
    configs:
      - source: postgres-init
        target: /docker-entrypoint-initdb.d/databases.sql
    volumes: ["postgres-data:/var/lib/postgresql/data"]
    expose: ["5432"]
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "bellhop"]
      interval: 2s
      retries: 30
    restart: unless-stopped
{{range .Procs}}
  {{.Name}}:
    image: ${BELLHOP_IMAGE:-bellhop:dev}
    command: ["serve"{{if .ServiceClients}}, "--config", "{{$.ServiceClientsFile}}"{{end}}]
    environment:
{{- $p := .}}{{range sorted .Env}}
      {{.}}: {{index $p.Env . | q}}{{end}}
{{- range sorted .SecretEnv}}
      {{.}}: {{if isDSN .}}{{dsn (dsnOf .) "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}" | q}}{{else}}"${{"{"}}{{index $p.SecretEnv .}}:?set {{index $p.SecretEnv .}}{{"}"}}"{{end}}{{end}}
{{- if .ServiceClients}}
    configs:
      - source: service-clients
        target: {{$.ServiceClientsFile}}{{end}}
    volumes: ["{{.Name}}-data:/data"]
{{- if eq .Name "gateway"}}
    ports: ["127.0.0.1:{{.Port}}:{{.Port}}"]{{else}}
    expose: ["{{.Port}}"]{{end}}
    depends_on:
      nats: {condition: service_started}
{{- if .Databases}}
      postgres: {condition: service_healthy}{{end}}
    restart: unless-stopped
{{end}}
configs:
  postgres-init:
    content: |
{{- range .Databases}}
      CREATE DATABASE {{.}};{{end}}
  service-clients:
    content: |
      auth:
        service_clients:
{{- range .Procs}}{{range .ServiceClients}}
          - id: {{.ClientID}}
            secret: ${{"{"}}{{.Variable}}:?set {{.Variable}}{{"}"}}
            scopes: [{{join .Scopes ", "}}]{{end}}{{end}}

volumes:
  nats-data: {}
  postgres-data: {}
{{- range .Procs}}
  {{.Name}}-data: {}{{end}}
`

const natsK8sTemplate = header + `# NATS with JetStream: the event backbone every process shares.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nats
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: nats}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: nats}
  template:
    metadata:
      labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: nats}
    spec:
      containers:
        - name: nats
          image: nats:2.10-alpine
          args: ["-js", "-sd", "/data", "-p", "{{.NATSPort}}"]
          ports:
            - {name: client, containerPort: {{.NATSPort}}}
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - name: data
          emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: nats
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: nats}
spec:
  selector: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: nats}
  ports:
    - {name: client, port: {{.NATSPort}}, targetPort: {{.NATSPort}}}
`

const postgresK8sTemplate = header + `# PostgreSQL: one database per module.
apiVersion: v1
kind: Secret
metadata:
  name: postgres
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: postgres}
type: Opaque
stringData:
  # Replace before applying (e.g. openssl rand -hex 32); the modules' DSNs in
  # their Secrets carry the same password.
  POSTGRES_PASSWORD: {{placeholder "POSTGRES_PASSWORD" | q}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: postgres-init
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: postgres}
data:
  databases.sql: |
{{- range .Databases}}
    CREATE DATABASE {{.}};{{end}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: postgres
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: postgres}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: postgres}
  template:
    metadata:
      labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: postgres}
    spec:
      containers:
        - name: postgres
          image: postgres:15
          env:
            - {name: POSTGRES_USER, value: bellhop}
            - name: POSTGRES_PASSWORD
              valueFrom:
                secretKeyRef: {name: postgres, key: POSTGRES_PASSWORD}
          ports:
            - {name: postgres, containerPort: 5432}
          readinessProbe:
            exec:
              command: ["pg_isready", "-U", "bellhop"]
          volumeMounts:
            - {name: data, mountPath: /var/lib/postgresql/data}
            - {name: init, mountPath: /docker-entrypoint-initdb.d}
      volumes:
        - name: data
          emptyDir: {}
        - name: init
          configMap: {name: postgres-init}
---
apiVersion: v1
kind: Service
metadata:
  name: postgres
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: postgres}
spec:
  selector: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: postgres}
  ports:
    - {name: postgres, port: 5432, targetPort: 5432}
`

const processK8sTemplate = header + `# The {{.Name}} process{{if .Env.BELLHOP_ONLY}} (hosts {{.Env.BELLHOP_ONLY}}){{else}} (the dashboard and the public API, every module remote){{end}}.
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{.Name}}
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
data:
{{- $p := .}}{{range sorted .Env}}
  {{.}}: {{index $p.Env . | q}}{{end}}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{.Name}}
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
type: Opaque
# Replace every value before applying (e.g. openssl rand -hex 32).
stringData:
{{- range sorted .SecretEnv}}
  {{.}}: {{if isDSN .}}{{dsn (dsnOf .) (placeholder "POSTGRES_PASSWORD") | q}}{{else}}{{placeholder (index $p.SecretEnv .) | q}}{{end}}{{end}}
{{- if .ServiceClients}}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{.Name}}-service-clients
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
type: Opaque
# The service identities {{.Name}} creates at start; each secret is the one
# in the Secret of the process it belongs to.
stringData:
  service-clients.yaml: |
    auth:
      service_clients:
{{- range .ServiceClients}}
        - id: {{.ClientID}}
          secret: {{placeholder .Variable}}
          scopes: [{{join .Scopes ", "}}]{{end}}{{end}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{.Name}}
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
    spec:
      containers:
        - name: bellhop
          image: bellhop:dev
          args: ["serve"{{if .ServiceClients}}, "--config", "/etc/bellhop/service-clients.yaml"{{end}}]
          envFrom:
            - configMapRef: {name: {{.Name}}}
{{- if .SecretEnv}}
            - secretRef: {name: {{.Name}}}{{end}}
          ports:
            - {name: http, containerPort: {{.Port}}}
          readinessProbe:
            httpGet: {path: /readyz, port: http}
          livenessProbe:
            httpGet: {path: /healthz, port: http}
          volumeMounts:
            - {name: data, mountPath: /data}
{{- if .ServiceClients}}
            - {name: service-clients, mountPath: /etc/bellhop, readOnly: true}{{end}}
      volumes:
        - name: data
          emptyDir: {}
{{- if .ServiceClients}}
        - name: service-clients
          secret:
            secretName: {{.Name}}-service-clients
            items:
              - {key: service-clients.yaml, path: service-clients.yaml}{{end}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{.Name}}
  labels: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
spec:
  selector: {app.kubernetes.io/name: bellhop, app.kubernetes.io/component: {{.Name}}}
  ports:
    - {name: http, port: {{.Port}}, targetPort: http}
`
