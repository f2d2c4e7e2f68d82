package main

import (
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

func (c *cli) grantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "grant", Short: "Grants: give members a level on a customer or project (add, list, revoke)"}

	var email, customer, project, level string
	var confidential bool
	add := &cobra.Command{
		Use:   "add --email E --customer C [--project P] --level L [--confidential]",
		Short: "Give a member viewer, contributor, editor or manager on a customer or one of its projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, ok := tuku.ParseLevel(strings.TrimSpace(level))
			if !ok {
				return errs.Ef(errs.Invalid, "grant.add", "unknown level %q (viewer, contributor, editor, manager)", level)
			}
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			g, err := a.Service.GrantAccess(cmd.Context(), operator, email, customer, project, l, confidential)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(g)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", g.ID, g.UserEmail, g.Level)
			return nil
		},
	}
	add.Flags().StringVar(&email, "email", "", "the member's email (required)")
	add.Flags().StringVar(&customer, "customer", "", "customer ID or code (required)")
	add.Flags().StringVar(&project, "project", "", "project ID or name (default: the whole customer)")
	add.Flags().StringVar(&level, "level", "", "viewer, contributor, editor or manager (required)")
	add.Flags().BoolVar(&confidential, "confidential", false, "let a viewer or contributor see confidential assets")
	for _, f := range []string{"email", "customer", "level"} {
		_ = add.MarkFlagRequired(f)
	}

	var lEmail, lCustomer string
	list := &cobra.Command{
		Use:   "list [--email E] [--customer C]",
		Short: "List grants",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			gs, err := a.Service.ListGrants(ctx, operator, service.GrantQuery{User: lEmail, Customer: lCustomer})
			if err != nil {
				return err
			}
			if c.json {
				for _, g := range gs {
					if err := c.printJSON(g); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tCUSTOMER\tPROJECT\tLEVEL\tCONFIDENTIAL")
			for _, g := range gs {
				proj := g.ProjectID
				if proj == "" {
					proj = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", g.ID, g.UserEmail, g.CustomerID, proj, g.Level, g.Confidential)
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&lEmail, "email", "", "only this member's grants")
	list.Flags().StringVar(&lCustomer, "customer", "", "only grants on this customer (ID or code)")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a grant",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(ctx context.Context, a *app.App, args []string) error {
			if err := a.Service.RevokeGrant(ctx, operator, args[0]); err != nil {
				return err
			}
			if c.json {
				return c.printJSON(map[string]string{"id": args[0], "status": "revoked"})
			}
			fmt.Fprintf(c.stdout, "revoked %s\n", args[0])
			return nil
		}),
	}
	cmd.AddCommand(add, list, revoke)
	return cmd
}
