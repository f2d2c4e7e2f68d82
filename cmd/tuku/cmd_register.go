package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"tuku/internal/app"

	"github.com/spf13/cobra"

	"tuku/internal/authz"
	"tuku/internal/service"
	"tuku/internal/tuku"
)

// The operator at the command line has the data directory in hand, so
// commands act as the system principal unless told otherwise (--as).
var operator = &authz.System

func (c *cli) customerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "customer", Short: "Customers: add, list"}
	var in service.NewCustomer
	var sens string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a customer",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(ctx context.Context, a *app.App, args []string) error {
			in.Name = args[0]
			in.Sensitivity = tuku.Sensitivity(sens)
			cu, err := a.Service.CreateCustomer(ctx, operator, in)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(cu)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", cu.ID, cu.Code, cu.Name)
			return nil
		}),
	}
	add.Flags().StringVar(&in.Code, "code", "", "unique short code (default: derived from the name)")
	add.Flags().StringVar(&in.Contact, "contact", "", "contact person, phone or email")
	add.Flags().StringVar(&in.Notes, "notes", "", "notes")
	add.Flags().StringVar(&sens, "sensitivity", "", "default sensitivity of its assets (public, internal, confidential, restricted)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List customers",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			cs, err := a.Service.ListCustomers(ctx, operator)
			if err != nil {
				return err
			}
			if c.json {
				for _, cu := range cs {
					if err := c.printJSON(cu); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCODE\tNAME\tSENSITIVITY")
			for _, cu := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cu.ID, cu.Code, cu.Name, cu.Sensitivity)
			}
			return tw.Flush()
		}),
	}
	cmd.AddCommand(add, list)
	return cmd
}

func (c *cli) projectCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Projects: add, list"}
	var customer, notes string
	add := &cobra.Command{
		Use:   "add --customer C NAME",
		Short: "Add a project to a customer",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(ctx context.Context, a *app.App, args []string) error {
			p, err := a.Service.CreateProject(ctx, operator, customer, args[0], notes)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(p)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\n", p.ID, p.Name)
			return nil
		}),
	}
	add.Flags().StringVar(&customer, "customer", "", "customer ID or code (required)")
	add.Flags().StringVar(&notes, "notes", "", "notes")
	_ = add.MarkFlagRequired("customer")
	list := &cobra.Command{
		Use:   "list --customer C",
		Short: "List a customer's projects",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			ps, err := a.Service.ListProjects(ctx, operator, customer)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if c.json {
					if err := c.printJSON(p); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(c.stdout, "%s\t%s\n", p.ID, p.Name)
				}
			}
			return nil
		}),
	}
	list.Flags().StringVar(&customer, "customer", "", "customer ID or code (required)")
	_ = list.MarkFlagRequired("customer")
	cmd.AddCommand(add, list)
	return cmd
}
