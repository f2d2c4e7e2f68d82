package main

import (
	"bufio"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"tuku/internal/authz"
	"tuku/internal/errs"
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
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			in.Name = args[0]
			in.Sensitivity = tuku.Sensitivity(sens)
			cu, err := a.Service.CreateCustomer(cmd.Context(), operator, in)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(cu)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", cu.ID, cu.Code, cu.Name)
			return nil
		},
	}
	add.Flags().StringVar(&in.Code, "code", "", "unique short code (default: derived from the name)")
	add.Flags().StringVar(&in.Contact, "contact", "", "contact person, phone or email")
	add.Flags().StringVar(&in.Notes, "notes", "", "notes")
	add.Flags().StringVar(&sens, "sensitivity", "", "default sensitivity of its assets (public, internal, confidential, restricted)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List customers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			cs, err := a.Service.ListCustomers(cmd.Context(), operator)
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
		},
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
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			p, err := a.Service.CreateProject(cmd.Context(), operator, customer, args[0], notes)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(p)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\n", p.ID, p.Name)
			return nil
		},
	}
	add.Flags().StringVar(&customer, "customer", "", "customer ID or code (required)")
	add.Flags().StringVar(&notes, "notes", "", "notes")
	_ = add.MarkFlagRequired("customer")
	list := &cobra.Command{
		Use:   "list --customer C",
		Short: "List a customer's projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ps, err := a.Service.ListProjects(cmd.Context(), operator, customer)
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
		},
	}
	list.Flags().StringVar(&customer, "customer", "", "customer ID or code (required)")
	_ = list.MarkFlagRequired("customer")
	cmd.AddCommand(add, list)
	return cmd
}

func (c *cli) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Accounts: add, list"}
	var in service.NewUser
	var role string
	var pwStdin bool
	add := &cobra.Command{
		Use:   "add --email E --role R",
		Short: "Add an account (prints a generated password unless --password-stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pwStdin {
				line, err := bufio.NewReader(c.stdin).ReadString('\n')
				if err != nil && line == "" {
					return errs.E(errs.Invalid, "user.add", "no password on standard input", nil)
				}
				in.Password = strings.TrimRight(line, "\r\n")
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
				fmt.Fprintf(c.stdout, "password: %s (shown once)\n", pw)
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			us, err := a.Service.ListUsers(cmd.Context(), operator)
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
		},
	}
	cmd.AddCommand(add, list)
	return cmd
}

func (c *cli) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens: create"}
	var in service.NewToken
	create := &cobra.Command{
		Use:   "create --email E",
		Short: "Create an API token for a user (printed once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			t, secret, err := a.Service.CreateToken(cmd.Context(), operator, in)
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(map[string]any{"token": t, "secret": secret})
			}
			fmt.Fprintln(c.stdout, secret)
			return nil
		},
	}
	create.Flags().StringVar(&in.Email, "email", "", "whose token (required)")
	create.Flags().StringVar(&in.Name, "name", "", "a label for the token")
	create.Flags().BoolVar(&in.ReadOnly, "read-only", false, "the token can only read")
	create.Flags().StringVar(&in.CustomerID, "customer", "", "restrict the token to one customer (ID)")
	_ = create.MarkFlagRequired("email")
	cmd.AddCommand(create)
	return cmd
}
