package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"tuku/internal/app"

	"github.com/spf13/cobra"

	"tuku/internal/errs"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// readPassword reads the first line of standard input (--password-stdin),
// so a password never appears in the process list or shell history.
func (c *cli) readPassword(op string) (string, error) {
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errs.E(errs.Invalid, op, "no password on standard input", nil)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (c *cli) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Accounts: add, list, disable, enable, passwd, reset-mfa"}
	var in service.NewUser
	var role string
	var pwStdin bool
	add := &cobra.Command{
		Use:   "add --email E --role R",
		Short: "Add an account (prints a generated password unless --password-stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pwStdin {
				pw, err := c.readPassword("user.add")
				if err != nil {
					return err
				}
				in.Password = pw
			}
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			in.Role = tuku.Role(role)
			u, pw, err := a.Service.CreateUser(cmd.Context(), operator, in)
			if err != nil {
				return err
			}
			if c.json {
				out := map[string]any{"user": u}
				if !pwStdin {
					out["password"] = pw
				}
				return c.printJSON(out)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", u.ID, u.Email, u.Role)
			if !pwStdin {
				fmt.Fprintf(c.stdout, "password: %s (shown once; a one-time password: the first sign-in asks for a new one)\n", pw)
			}
			return nil
		},
	}
	add.Flags().StringVar(&in.Email, "email", "", "email address (required)")
	add.Flags().StringVar(&in.DisplayName, "name", "", "display name")
	add.Flags().StringVar(&role, "role", "member", "role: admin or member")
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = add.MarkFlagRequired("email")
	list := &cobra.Command{
		Use:   "list",
		Short: "List accounts",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			us, err := a.Service.ListUsers(ctx, operator)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			if !c.json {
				fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tDISABLED")
			}
			for _, u := range us {
				if c.json {
					if err := c.printJSON(u); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", u.ID, u.Email, u.Role, u.Disabled)
			}
			return tw.Flush()
		}),
	}
	cmd.AddCommand(add, list, c.userDisableCmd(true), c.userDisableCmd(false), c.userPasswdCmd(), c.userResetMFACmd())
	return cmd
}

// userDisableCmd is `tuku user disable` (or enable, when !disable).
func (c *cli) userDisableCmd(disable bool) *cobra.Command {
	var email string
	use, short := "enable", "Let a disabled account sign in again"
	if disable {
		use, short = "disable", "Disable an account: its sessions end and its API tokens stop working"
	}
	cmd := &cobra.Command{
		Use:   use + " --email E",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			f := a.Service.EnableUser
			if disable {
				f = a.Service.DisableUser
			}
			u, err := f(ctx, operator, email)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(u)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\tdisabled=%v\n", u.ID, u.Email, u.Disabled)
			return nil
		}),
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's email (required)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func (c *cli) userPasswdCmd() *cobra.Command {
	var email string
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "passwd --email E [--password-stdin]",
		Short: "Set an account's password (prints a generated one unless --password-stdin); its sessions end",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw := ""
			if pwStdin {
				var err error
				if pw, err = c.readPassword("user.passwd"); err != nil {
					return err
				}
			}
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			set, err := a.Service.SetPassword(cmd.Context(), operator, email, pw)
			if err != nil {
				return err
			}
			if c.json {
				out := map[string]any{"email": tuku.NormEmail(email)}
				if !pwStdin {
					out["password"] = set
				}
				return c.printJSON(out)
			}
			if !pwStdin {
				fmt.Fprintf(c.stdout, "password: %s (shown once; a one-time password: the first sign-in asks for a new one)\n", set)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's email (required)")
	cmd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func (c *cli) userResetMFACmd() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "reset-mfa --email E",
		Short: "Remove an account's second factor (lost phone); its sessions end",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			if err := a.Service.ResetMFA(ctx, operator, email); err != nil {
				return err
			}
			if c.json {
				return c.printJSON(map[string]any{"email": tuku.NormEmail(email), "mfa": "reset"})
			}
			fmt.Fprintln(c.stdout, "second factor removed")
			return nil
		}),
	}
	cmd.Flags().StringVar(&email, "email", "", "the account's email (required)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func (c *cli) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens: create, list, revoke"}
	var in service.NewToken
	create := &cobra.Command{
		Use:   "create --email E",
		Short: "Create an API token for a user (printed once)",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			t, secret, err := a.Service.CreateToken(ctx, operator, in)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(map[string]any{"token": t, "secret": secret})
			}
			fmt.Fprintln(c.stdout, secret)
			return nil
		}),
	}
	create.Flags().StringVar(&in.Email, "email", "", "whose token (required)")
	create.Flags().StringVar(&in.Name, "name", "", "a label for the token")
	create.Flags().BoolVar(&in.ReadOnly, "read-only", false, "the token can only read")
	create.Flags().StringVar(&in.CustomerID, "customer", "", "restrict the token to one customer (ID)")
	_ = create.MarkFlagRequired("email")

	var email string
	list := &cobra.Command{
		Use:   "list --email E",
		Short: "List a user's API tokens (revoked ones included; secrets are never shown again)",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			ts, err := a.Service.ListTokens(ctx, operator, email)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			if !c.json {
				fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCUSTOMER\tCREATED\tREVOKED")
			}
			for _, t := range ts {
				if c.json {
					if err := c.printJSON(t); err != nil {
						return err
					}
					continue
				}
				scope, revoked := t.Scope, ""
				if scope == "" {
					scope = "all"
				}
				if t.RevokedAt != nil {
					revoked = t.RevokedAt.Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, scope, t.CustomerID, t.CreatedAt.Format("2006-01-02 15:04"), revoked)
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&email, "email", "", "whose tokens (required)")
	_ = list.MarkFlagRequired("email")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(ctx context.Context, a *app.App, args []string) error {
			if err := a.Service.RevokeToken(ctx, operator, args[0]); err != nil {
				return err
			}
			if c.json {
				return c.printJSON(map[string]any{"id": args[0], "revoked": true})
			}
			fmt.Fprintln(c.stdout, "revoked", args[0])
			return nil
		}),
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
