package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bellhop/bellhop/cmd/internal/topology"
)

func newSplitDeployCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Write the deployment files of the topology: a Compose file and Kubernetes manifests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			topoFile, _ := cmd.Flags().GetString("topology")
			out, _ := cmd.Flags().GetString("out")
			t, err := topology.Load(topoFile, topologyModules())
			if err != nil {
				return err
			}
			files, err := t.WriteDeployment(out, topologyModules())
			if err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", f)
			}
			return nil
		},
	}
	cmd.Flags().String("topology", "configs/split.yaml", "the topology file")
	cmd.Flags().String("out", "configs/deploy", "directory to write the files to")
	return cmd
}
