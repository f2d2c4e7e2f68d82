package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"tuku/internal/errs"
	"tuku/internal/httpapi"
)

func (c *cli) serveCmd() *cobra.Command {
	var rateLimit string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web UI and API, with background workers in the same process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if rateLimit != "on" && rateLimit != "off" {
				return errs.Ef(errs.Invalid, "serve", "--rate-limit must be on or off, not %q", rateLimit)
			}
			a, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			if rateLimit == "off" {
				a.Cfg.RateLimits = httpapi.NoRateLimits()
			}
			u, pw, err := a.Service.EnsureAdmin(ctx, a.Cfg.AdminEmail)
			if err != nil {
				return err
			}
			if u != nil {
				fmt.Fprintf(c.stdout, "Created the first administrator.\n  email:    %s\n  password: %s\n(shown once; change it after signing in)\n", u.Email, pw)
			}
			ln, err := net.Listen("tcp", a.Cfg.Addr)
			if err != nil {
				return errs.E(errs.Unavailable, "serve", "cannot listen on "+a.Cfg.Addr, err)
			}
			srv := &http.Server{
				Handler:           a.Handler(),
				ReadHeaderTimeout: 10 * time.Second,
				IdleTimeout:       120 * time.Second,
			}
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go a.Runner.Run(rctx)
			go func() {
				if err := a.CheckImaging(rctx); err != nil {
					a.Log.Error("imaging worker does not start; uploads will fail", "err", err)
				}
			}()
			go func() {
				<-ctx.Done()
				sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
				defer c2()
				_ = srv.Shutdown(sctx)
			}()
			fmt.Fprintf(c.stdout, "Tuku is serving on http://%s (data in %s)\n", ln.Addr(), a.Cfg.Data)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return errs.E(errs.Unavailable, "serve", "server failed", err)
			}
			return nil
		},
	}
	// Off is for load tests and for deployments whose reverse proxy does
	// the limiting (behind one, every client has the proxy's address).
	cmd.Flags().StringVar(&rateLimit, "rate-limit", "on", "per-user and per-IP request rate limits: on or off")
	return cmd
}

func (c *cli) workerCmd() *cobra.Command {
	var drain bool
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run background jobs only (renditions), until stopped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			if drain {
				return a.Runner.Drain(ctx)
			}
			fmt.Fprintln(c.stderr, "tuku worker: running background jobs")
			a.Runner.Run(ctx)
			return nil
		},
	}
	cmd.Flags().BoolVar(&drain, "drain", false, "run the jobs that are due, then exit")
	return cmd
}
