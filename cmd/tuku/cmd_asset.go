package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"tuku/internal/app"

	"github.com/spf13/cobra"

	"tuku/internal/authz"
	"tuku/internal/errs"
	"tuku/internal/service"
)

func (c *cli) assetCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "asset", Short: "Read one asset: show, get"}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an asset's record",
		Args:  cobra.ExactArgs(1),
		RunE: c.withApp(func(ctx context.Context, a *app.App, args []string) error {
			as, err := a.Service.GetAsset(ctx, operator, args[0])
			if err != nil {
				return err
			}
			if c.json {
				return c.printJSON(as)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
			row("id", as.ID)
			row("name", as.Name)
			row("original", as.OriginalFilename)
			row("customer", as.CustomerID)
			row("project", as.ProjectID)
			row("type", as.MIME)
			row("size", fmt.Sprintf("%d bytes, %dx%d", as.Size, as.Width, as.Height))
			row("sha256", as.SHA256)
			row("taken", as.TakenAt)
			row("camera", as.CameraMake+" "+as.CameraModel)
			if as.GPS != nil {
				row("gps", fmt.Sprintf("%.6f, %.6f", as.GPS.Lat, as.GPS.Lon))
			}
			row("description", as.Description)
			row("category", as.Category)
			row("sensitivity", as.Sensitivity)
			row("status", as.Status)
			for _, t := range as.Tags {
				row("tag", t.Name+" ("+string(t.Source)+")")
			}
			return tw.Flush()
		}),
	}
	var size, out string
	get := &cobra.Command{
		Use:   "get ID [--size S] -o FILE",
		Short: "Write an asset's original (or a rendition with --size) to a file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errs.E(errs.Invalid, "asset.get", "give the output file with -o FILE (- for standard output)", nil)
			}
			a, err := c.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			var content *service.Content
			if size == "" || size == "original" {
				_, content, err = a.Service.OpenOriginal(cmd.Context(), operator, args[0])
			} else {
				_, content, err = a.Service.OpenRendition(cmd.Context(), operator, args[0], size)
			}
			if err != nil {
				return err
			}
			defer content.Body.Close()
			if out == "-" {
				_, err = io.Copy(c.stdout, content.Body)
				return err
			}
			return writeFileAtomic(out, content.Body)
		},
	}
	get.Flags().StringVar(&size, "size", "", "rendition size (grid, preview, large); default the original")
	get.Flags().StringVarP(&out, "output", "o", "", "output file (- for standard output)")
	cmd.AddCommand(show, get)
	return cmd
}

// writeFileAtomic writes r to path through a temporary file and a rename.
func writeFileAtomic(path string, r io.Reader) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tuku-get-*")
	if err != nil {
		return errs.E(errs.Invalid, "asset.get", "cannot write to "+dir, err)
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return errs.E(errs.Unavailable, "asset.get", "cannot copy the asset", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (c *cli) searchCmd() *cobra.Command {
	var q service.AssetQuery
	var as string
	cmd := &cobra.Command{
		Use:   "search [QUERY]",
		Short: "Search and filter assets, newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			if len(args) == 1 {
				q.Q = args[0]
			}
			var p *authz.Principal = operator
			if as != "" {
				if p, err = a.Service.PrincipalFor(ctx, as); err != nil {
					return err
				}
			}
			page, err := a.Service.ListAssets(ctx, p, q)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			for _, as := range page.Assets {
				if c.json {
					if err := c.printJSON(as); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", as.ID, as.Name, as.TakenAt, as.Description)
			}
			if !c.json && page.NextCursor != "" {
				fmt.Fprintf(tw, "(more: --cursor %s)\n", page.NextCursor)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Customer, "customer", "", "customer ID or code")
	f.StringVar(&q.Project, "project", "", "project ID or name")
	f.StringVar(&q.Tag, "tag", "", "tag")
	f.StringVar(&q.Category, "category", "", "category")
	f.StringVar(&q.Status, "status", "", "status")
	f.StringVar(&q.Sensitivity, "sensitivity", "", "sensitivity")
	f.StringVar(&q.From, "from", "", "from date (YYYY-MM-DD)")
	f.StringVar(&q.To, "to", "", "to date, inclusive (YYYY-MM-DD)")
	f.StringVar(&q.Cursor, "cursor", "", "continue after a previous page")
	f.IntVar(&q.Limit, "limit", 50, "results per page (at most 1000)")
	f.StringVar(&as, "as", "", "search as this user (email) instead of as administrator")
	return cmd
}
