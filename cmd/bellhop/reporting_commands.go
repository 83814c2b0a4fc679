package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bellhop/bellhop/modules/reporting"
	"github.com/bellhop/bellhop/modules/reporting/reportinglocal"
	"github.com/bellhop/bellhop/platform/host"
)

// newReportingCmd groups the reporting module's operator commands.
func newReportingCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "reporting", Short: "Operate the reporting module (receipts, credit notes, reports)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild reporting's read models from the events it has kept; issued documents and mail are left as they are",
		Long: `Empties reporting's read models (bookings, nights, capacity, payments, ledger) and
applies every event reporting has received again, in the order it received them, in one
transaction. Receipts and credit notes keep their numbers and PDFs, and no mail is sent:
the reports come out as before. Run it where reporting's database lives; a running server
may keep serving (the rebuild is one transaction).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if !cfg.Hosts(reporting.Module) {
				return errors.New("reporting rebuild: reporting is not hosted by this configuration (run it where reporting runs)")
			}
			h, err := host.Open(cmd.Context(), cfg, bellhopModules(), nil)
			if err != nil {
				return err
			}
			defer h.Close()
			if err := h.Build(cmd.Context(), host.BuildOptions{Only: []string{reporting.Module}}); err != nil {
				return err
			}
			m, ok := host.LocalModule[*reportinglocal.Module](h, reporting.Module)
			if !ok {
				return errors.New("reporting rebuild: the reporting module was not built here")
			}
			st, err := m.Rebuild(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reporting rebuilt from %d events; %d issued documents kept as they were\n", st.Events, st.Documents)
			return nil
		},
	})
	return cmd
}
