package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bellhop/bellhop/modules/auth"
	"github.com/bellhop/bellhop/modules/auth/authlocal"
	"github.com/bellhop/bellhop/platform/apperr"
	"github.com/bellhop/bellhop/platform/config"
	"github.com/bellhop/bellhop/platform/host"
)

// withAuth opens the auth module's database (migrated) for a CLI command.
func withAuth(ctx context.Context, cfg *config.Config, fn func(*authlocal.Module) error) error {
	if !cfg.Hosts(auth.Module) {
		return errors.New("the auth module is not hosted by this configuration (run this where auth runs)")
	}
	h, err := host.Open(ctx, cfg, bellhopModules(), nil)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.Build(ctx, host.BuildOptions{Only: []string{auth.Module}}); err != nil {
		return err
	}
	m, _ := host.LocalModule[*authlocal.Module](h, auth.Module)
	return fn(m)
}

func newUsersCmd() *cobra.Command {
	users := &cobra.Command{Use: "users", Short: "Manage user accounts", Args: cobra.NoArgs}
	createAdmin := &cobra.Command{
		Use:     "create-admin",
		Short:   "Create an administrator (the password is read from stdin, never from a flag)",
		Example: `  printf '%s' "$ADMIN_PASSWORD" | bellhop users create-admin --email ops@hotel.example --name "Ops" --password-stdin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			name, _ := cmd.Flags().GetString("name")
			if fromStdin, _ := cmd.Flags().GetBool("password-stdin"); !fromStdin {
				return errors.New("--password-stdin is required: passwords are not accepted as flags (they would end up in shell history and process lists)")
			}
			password, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			if name == "" {
				name, _, _ = strings.Cut(email, "@")
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return withAuth(cmd.Context(), cfg, func(m *authlocal.Module) error {
				u, err := m.CreateAdmin(cmd.Context(), email, name, password)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "admin created: %s (%s)\n", u.Email, u.ID)
				return nil
			})
		},
	}
	createAdmin.Flags().String("email", "", "the administrator's email (required)")
	createAdmin.Flags().String("name", "", "display name (default: the email's local part)")
	createAdmin.Flags().Bool("password-stdin", false, "read the password from standard input")
	_ = createAdmin.MarkFlagRequired("email")
	users.AddCommand(createAdmin)
	return users
}

func newClientsCmd() *cobra.Command {
	clients := &cobra.Command{Use: "clients", Short: "Manage OAuth clients", Args: cobra.NoArgs}
	create := &cobra.Command{
		Use:   "create",
		Short: "Register an OAuth client; prints its id and, for a confidential client, its secret (once)",
		Example: `  bellhop clients create --name "Partner API" --scopes catalog:write --grant-types client_credentials
  bellhop clients create --name "Mobile app" --public --redirect-uris https://app.example/cb --grant-types authorization_code,refresh_token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var req auth.CreateClientRequest
			req.Name, _ = cmd.Flags().GetString("name")
			req.Scopes, _ = cmd.Flags().GetStringSlice("scopes")
			req.RedirectURIs, _ = cmd.Flags().GetStringSlice("redirect-uris")
			req.GrantTypes, _ = cmd.Flags().GetStringSlice("grant-types")
			public, _ := cmd.Flags().GetBool("public")
			req.Confidential = !public
			req.FirstParty, _ = cmd.Flags().GetBool("first-party")
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return withAuth(cmd.Context(), cfg, func(m *authlocal.Module) error {
				c, err := m.CreateClient(cmd.Context(), req)
				if err != nil {
					return describe(err)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "client_id: %s\n", c.ID)
				if c.Secret != "" {
					fmt.Fprintf(out, "client_secret: %s\n(shown once: only its hash is stored)\n", c.Secret)
				}
				return nil
			})
		},
	}
	create.Flags().String("name", "", "the client's name (required)")
	create.Flags().StringSlice("scopes", nil, "scopes the client may be granted, comma-separated")
	create.Flags().StringSlice("redirect-uris", nil, "exact redirect URIs (authorization code flow)")
	create.Flags().StringSlice("grant-types", []string{"client_credentials"}, "authorization_code, client_credentials, refresh_token")
	create.Flags().Bool("public", false, "a public client (no secret; PKCE only), e.g. a mobile or single-page app")
	create.Flags().Bool("first-party", false, "skip the consent page (Bellhop's own apps)")
	_ = create.MarkFlagRequired("name")
	clients.AddCommand(create)
	return clients
}

func newKeysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage token signing keys", Args: cobra.NoArgs}
	keys.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Add a new signing key and sign with it; old keys stay published until their tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return withAuth(cmd.Context(), cfg, func(m *authlocal.Module) error {
				kid, err := m.RotateKeys(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "signing with new key %s\n", kid)
				return nil
			})
		},
	})
	return keys
}

// readPassword reads one line from r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// describe turns a validation error into one readable line for the terminal.
func describe(err error) error {
	var ae *apperr.Error
	if !errors.As(err, &ae) || len(ae.Fields) == 0 {
		return err
	}
	parts := make([]string, len(ae.Fields))
	for i, f := range ae.Fields {
		parts[i] = f.Field + " " + f.Detail
	}
	return fmt.Errorf("%s: %s", ae.Message, strings.Join(parts, "; "))
}

// demoPassword is a random password for a demo account, printed once.
func demoPassword() string {
	return "demo-" + strings.ToLower(rand.Text()[:16])
}
