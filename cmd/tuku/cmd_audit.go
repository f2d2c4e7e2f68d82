package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"tuku/internal/app"

	"github.com/spf13/cobra"

	"tuku/internal/errs"
	"tuku/internal/service"
)

func (c *cli) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The tamper-evident audit log: verify, list, export"}

	var expect string
	verify := &cobra.Command{
		Use:   "verify [--expect-head HASH]",
		Short: "Walk the audit chain and report the first bad row (exit 1 when broken)",
		Long: "Walk the audit log in sequence order, checking every row's hash and its link to the\n" +
			"row before. Prints the head (last seq and hash): record it somewhere the database's\n" +
			"administrators cannot write, and later pass it as --expect-head to prove the log\n" +
			"was not rewritten or truncated since.",
		Args: cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			rep, err := a.Service.VerifyAudit(ctx, operator, expect)
			if err != nil {
				return err
			}
			if c.json {
				if err := c.printJSON(rep); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintln(c.stdout, rep.String())
			} else {
				fmt.Fprintln(c.stderr, rep.String())
			}
			if !rep.OK {
				return exitError(1)
			}
			return nil
		}),
	}
	verify.Flags().StringVar(&expect, "expect-head", "", "a head hash recorded earlier that must still be in the chain")

	var q service.AuditQuery
	filters := func(cmd *cobra.Command) {
		f := cmd.Flags()
		f.StringVar(&q.Actor, "actor", "", "actor: user ID or email")
		f.StringVar(&q.Action, "action", "", `action, exact ("asset.upload") or a prefix ending in "." ("asset.")`)
		f.StringVar(&q.Target, "target", "", "target ID")
		f.StringVar(&q.Customer, "customer", "", "customer ID or code")
		f.StringVar(&q.Outcome, "outcome", "", "ok, denied or failed")
		f.StringVar(&q.From, "from", "", "from this time (RFC 3339 or YYYY-MM-DD)")
		f.StringVar(&q.To, "to", "", "up to this time (RFC 3339, or YYYY-MM-DD inclusive)")
	}
	list := &cobra.Command{
		Use:   "list [filters]",
		Short: "List audit rows, newest first",
		Args:  cobra.NoArgs,
		RunE: c.withApp(func(ctx context.Context, a *app.App, _ []string) error {
			page, err := a.Service.ListAudit(ctx, operator, q)
			if err != nil {
				return err
			}
			if c.json {
				for _, e := range page.Events {
					if err := c.printJSON(e); err != nil {
						return err
					}
				}
			} else {
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tOUTCOME\tIP")
				for _, e := range page.Events {
					actor := e.ActorEmail
					if actor == "" {
						actor = e.ActorID
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format("2006-01-02T15:04:05Z"),
						printable(actor), e.Action, printable(strings.TrimPrefix(e.TargetType+":"+e.TargetID, ":")),
						e.Outcome, printable(e.IP))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if page.NextCursor != "" {
				fmt.Fprintf(c.stderr, "more: --cursor %s\n", page.NextCursor)
			}
			return nil
		}),
	}
	filters(list)
	list.Flags().StringVar(&q.Cursor, "cursor", "", "continue after a previous page")
	list.Flags().IntVar(&q.Limit, "limit", 100, "rows per page (at most 1000)")

	var out string
	export := &cobra.Command{
		Use:   "export -o FILE.csv [filters]",
		Short: "Export audit rows as CSV (formula cells neutralised), newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errs.E(errs.Invalid, "audit.export", "give the output file with -o FILE.csv (- for standard output)", nil)
			}
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if out == "-" {
				return a.Service.ExportAuditCSV(cmd.Context(), operator, q, c.stdout)
			}
			// A temporary file renamed into place: a failed export
			// leaves no half file that looks complete. 0600: the log
			// names people and their files.
			f, err := os.CreateTemp(filepath.Dir(out), ".audit-*.csv")
			if err != nil {
				return errs.E(errs.Invalid, "audit.export", "cannot create the output file", err)
			}
			defer os.Remove(f.Name())
			if err := a.Service.ExportAuditCSV(cmd.Context(), operator, q, f); err != nil {
				f.Close()
				return err
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return errs.E(errs.Unavailable, "audit.export", "cannot write the output file", err)
			}
			if err := f.Close(); err != nil {
				return errs.E(errs.Unavailable, "audit.export", "cannot write the output file", err)
			}
			if err := os.Rename(f.Name(), out); err != nil {
				return errs.E(errs.Invalid, "audit.export", "cannot write the output file", err)
			}
			return nil
		},
	}
	filters(export)
	export.Flags().StringVarP(&out, "output", "o", "", "output file (- for standard output)")

	cmd.AddCommand(verify, list, export)
	return cmd
}

// printable replaces control characters so a hostile value (a user agent,
// an email tried at sign-in) cannot rewrite the operator's terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return '?'
		}
		return r
	}, s)
}
