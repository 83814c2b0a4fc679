// Command bellhop runs Bellhop: one binary that hosts every module, or only
// some of them while calling the others over HTTP, chosen by configuration.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bellhop/bellhop/cmd/internal/loadgen"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/host"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bellhop:", err)
		os.Exit(1)
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "bellhop",
		Short: "Bellhop: a hotel booking system, one binary of modules that can be split later",
		Long: `Bellhop hosts its modules (` + strings.Join(host.Names(bellhopModules()), ", ") + `) in one
process by default. Any module can run as its own process (--only) with the
others calling it over HTTP (--remote), by configuration alone.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().String("config", "", "configuration file (YAML); defaults are built in (see configs/bellhop.yaml)")
	root.PersistentFlags().String("data-dir", "", "directory for the module databases (default ./data)")
	root.PersistentFlags().String("log-level", "", "debug, info, warn or error")
	root.AddCommand(newServeCmd(), newSeedCmd(), newMigrateCmd(), newUsersCmd(), newClientsCmd(), newKeysCmd(), newSplitCmd(), loadgen.NewCommand(), newReportingCmd(), newVersionCmd())
	return root
}

// loadConfig reads the configuration with the command's flags.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	file, _ := cmd.Flags().GetString("config")
	flags := pflag.NewFlagSet("bellhop", pflag.ContinueOnError)
	flags.AddFlagSet(cmd.Flags())
	flags.AddFlagSet(cmd.InheritedFlags())
	mods := bellhopModules()
	return config.Load(config.Options{File: file, Flags: flags, Modules: host.Names(mods), Sections: host.Sections(mods)})
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " (" + s.Value + ")"
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bellhop %s%s\n", version, rev)
		},
	}
}
