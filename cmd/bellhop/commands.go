package main

import (
	"fmt"

	"github.com/bellhop/bellhop/platform/host"

	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API with every module, or only some (--only), calling others remotely (--remote)",
		Example: `  bellhop serve
  bellhop serve --only search --addr 127.0.0.1:8101
  bellhop serve --remote search=http://127.0.0.1:8101`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().String("addr", "", "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks one)")
	cmd.Flags().StringSlice("only", nil, "host only these modules (comma-separated), e.g. --only search")
	cmd.Flags().StringSlice("remote", nil, "call these modules over HTTP: MODULE=URL, e.g. --remote search=http://127.0.0.1:8101")
	return cmd
}

func newSeedCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "seed",
		Short: "Write the demo data: the catalog (same cities, hotels and ids every time) and a demo admin and guest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			st, err := seed(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch c := st.Catalog; {
			case c.AlreadySeeded:
				fmt.Fprintln(out, "demo catalog already present: nothing to do")
			case c.Hotels > 0:
				fmt.Fprintf(out, "demo catalog written: %d cities, %d hotels, %d room types, %d rates\n", c.Cities, c.Hotels, c.RoomTypes, c.Rates)
			}
			for _, u := range st.Users {
				fmt.Fprintf(out, "demo %s created: %s / %s  (shown once: only a hash is stored)\n", u.Role, u.Email, u.Password)
			}
			return nil
		},
	}
}

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the databases of the modules this process hosts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			h, err := host.Open(cmd.Context(), cfg, bellhopModules(), nil)
			if err != nil {
				return err
			}
			defer h.Close()
			for _, name := range h.Hosted() {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: migrated\n", name)
			}
			return nil
		},
	}
}
