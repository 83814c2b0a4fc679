package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bellhop/bellhop/cmd/internal/topology"
	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/search"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/host"
)

func newSplitCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "split",
		Short: "Run the whole system split into processes (configs/split.yaml): NATS, a gateway and the modules, under goreman",
		Long: `split reads the topology (configs/split.yaml), prepares a directory per process
under --dir with its configuration and generated service secret, seeds the demo
catalog in search's process and the demo accounts in auth's, writes a Procfile
and runs it with goreman: a NATS server, the gateway (dashboard and public API)
and every module process. It prints the URLs and the demo credentials once every
process is ready. Ctrl-C stops them all.`,
		Example: `  bellhop split
  bellhop split --prepare-only        # write and seed data/split, run nothing
  bellhop split deploy --out configs/deploy
  bellhop split plan --module search  # what running search remote would add`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			topoFile, _ := cmd.Flags().GetString("topology")
			dir, _ := cmd.Flags().GetString("dir")
			prepareOnly, _ := cmd.Flags().GetBool("prepare-only")
			natsPath, err := program(cmd, "nats-server")
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if !prepareOnly {
				// A port taken (by make run, or a split already up) would
				// stop the topology half-started: say so before anything runs.
				if err := portsFree(topoFile); err != nil {
					return err
				}
			}
			l, users, err := prepareSplit(cmd.Context(), topoFile, dir, self, natsPath)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if prepareOnly {
				fmt.Fprintf(out, "prepared %s (Procfile: %s)\n%s", dir, l.Procfile, credentials(users, dir))
				return nil
			}
			goreman, err := program(cmd, "goreman")
			if err != nil {
				return err
			}
			return runSplit(cmd.Context(), out, cmd.ErrOrStderr(), goreman, l, users, dir)
		},
	}
	cmd.Flags().String("topology", "configs/split.yaml", "the topology file")
	cmd.Flags().String("dir", "data/split", "directory for every process's data, configuration and secret")
	cmd.Flags().Bool("prepare-only", false, "prepare and seed --dir, print the Procfile's path and the demo credentials, run nothing")
	cmd.Flags().String("nats-server", "", "the nats-server program (default: from PATH, else GOPATH/bin)")
	cmd.Flags().String("goreman", "", "the goreman program (default: from PATH, else GOPATH/bin)")
	cmd.AddCommand(newSplitDeployCmd(), newSplitPlanCmd())
	return cmd
}

// topologyModules are the modules as the topology needs them.
func topologyModules() []topology.Module {
	var out []topology.Module
	for _, m := range bellhopModules() {
		tm := topology.Module{Name: m.Name}
		for _, c := range m.Calls {
			tm.Calls = append(tm.Calls, c.Module)
		}
		out = append(out, tm)
	}
	return out
}

// prepareSplit reads the topology, prepares dir and seeds the demo data in
// the processes hosting search (the catalog) and auth (the demo accounts).
func prepareSplit(ctx context.Context, topoFile, dir, bellhop, natsServer string) (*topology.Launch, []demoUser, error) {
	t, err := topology.Load(topoFile, topologyModules())
	if err != nil {
		return nil, nil, err
	}
	l, err := t.Prepare(topology.LaunchOptions{Dir: dir, Bellhop: bellhop, NATSServer: natsServer, Modules: topologyModules()})
	if err != nil {
		return nil, nil, err
	}
	var users []demoUser
	for _, module := range []string{search.Module, auth.Module} {
		c, ok := l.Command(t.HostOf(module).Name)
		if !ok {
			return nil, nil, fmt.Errorf("split: no command for %s's process", module)
		}
		mods := bellhopModules()
		// What the topology sets for the process wins over the shell's
		// BELLHOP_* variables, as it does when the process runs (ProcessEnv).
		cfg, err := config.Load(config.Options{File: c.ConfigFile, Modules: host.Names(mods), Sections: host.Sections(mods),
			Overrides: map[string]any{"data_dir": c.DataDir, "only": c.Hosts, "server.addr": strings.TrimPrefix(c.URL, "http://")}})
		if err != nil {
			return nil, nil, err
		}
		st, err := seed(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("split: seed %s: %w", c.Name, err)
		}
		users = append(users, st.Users...)
	}
	return l, users, nil
}

// credentials says who to sign in as: the demo accounts created now, or
// where their passwords were shown.
func credentials(users []demoUser, dir string) string {
	if len(users) == 0 {
		return fmt.Sprintf("demo admin: admin@bellhop.demo, demo guest: guest@bellhop.demo (their passwords were shown when %s was first prepared; rm -rf %s to start afresh)\n", dir, dir)
	}
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "demo %s: %s  password %s  (shown once: only a hash is stored)\n", u.Role, u.Email, u.Password)
	}
	return b.String()
}

// runSplit runs the Procfile with goreman until ctx is done (Ctrl-C, which
// goreman receives too) or goreman stops (a process failed), and prints the
// URLs once every process is ready.
func runSplit(ctx context.Context, stdout, stderr io.Writer, goreman string, l *topology.Launch, users []demoUser, dir string) error {
	gm := exec.Command(goreman, "-f", l.Procfile, "-set-ports=false", "-rpc-server=false", "-exit-on-error", "-logtime=false", "start")
	gm.Stdout, gm.Stderr = stdout, stderr
	env, ignored := topology.ProcessEnv(os.Environ())
	gm.Env = env
	for _, name := range ignored {
		fmt.Fprintf(stderr, "bellhop split: ignoring %s from the environment: the topology sets it for each process\n", name)
	}
	if err := gm.Start(); err != nil {
		return fmt.Errorf("split: goreman: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- gm.Wait() }()
	readyCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	go func() {
		if err := waitReady(readyCtx, l, 2*time.Minute); err != nil {
			if readyCtx.Err() == nil {
				fmt.Fprintf(stderr, "bellhop split: %v\n", err)
			}
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\nBellhop is split into %d processes and ready:\n", len(l.Commands))
		for _, c := range l.Commands {
			what := strings.Join(c.Hosts, ", ")
			switch c.Name {
			case topology.NATSName:
				what = "events (JetStream)"
			case topology.GatewayName:
				what = "dashboard and public API, every module remote"
			}
			fmt.Fprintf(&b, "  %-10s %-24s %s\n", c.Name, c.URL, what)
		}
		fmt.Fprintf(&b, "Open %s/ and sign in:\n%s", l.GatewayURL, credentials(users, dir))
		fmt.Fprintf(&b, "Each process's data, configuration and service secret: %s/<process>. Ctrl-C stops everything.\n\n", dir)
		fmt.Fprint(stdout, b.String())
	}()
	select {
	case err := <-done:
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("split: goreman stopped: %v (a process failed; its output is above)", err)
	case <-ctx.Done():
		// goreman has had the terminal's SIGINT too; a SIGTERM sent to this
		// command alone reaches it here. It stops the processes one by one
		// (SIGINT, SIGKILL 10 s later): wait for it, as killing it would
		// leave them running.
		_ = gm.Process.Signal(syscall.SIGINT)
		<-done
		fmt.Fprintln(stderr, "bellhop split: every process stopped")
		return nil
	}
}

// portsFree checks that every port of the topology is free on loopback.
func portsFree(topoFile string) error {
	t, err := topology.Load(topoFile, topologyModules())
	if err != nil {
		return err
	}
	ports := map[string]int{topology.NATSName: t.NATS.Port, topology.GatewayName: t.Gateway.Port}
	for _, p := range t.Processes {
		ports[p.Name] = p.Port
	}
	var taken []string
	for _, name := range slices.Sorted(maps.Keys(ports)) {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[name])))
		if err != nil {
			taken = append(taken, fmt.Sprintf("%s's port %d", name, ports[name]))
			continue
		}
		ln.Close()
	}
	if len(taken) > 0 {
		return fmt.Errorf("split: %s in use (is make run, or another make split, running?); nothing was started", strings.Join(taken, ", "))
	}
	return nil
}

// waitReady waits until NATS accepts connections and every bellhop process
// answers /readyz with 200.
func waitReady(ctx context.Context, l *topology.Launch, within time.Duration) error {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, c := range l.Commands {
		for {
			var err error
			if c.Name == topology.NATSName {
				var conn net.Conn
				if conn, err = net.DialTimeout("tcp", strings.TrimPrefix(c.URL, "nats://"), time.Second); err == nil {
					conn.Close()
				}
			} else {
				err = ready(ctx, hc, c.URL+"/readyz")
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s is not ready after %s: %v", c.Name, within, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

func ready(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return nil
}

// program is the path of the program name: its flag, else PATH, else
// GOPATH/bin (where `go install` puts it).
func program(cmd *cobra.Command, name string) (string, error) {
	if p, _ := cmd.Flags().GetString(name); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	p := filepath.Join(gopath, "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errors.New("split: " + name + " not found: `make split` installs it, or give --" + name)
}
