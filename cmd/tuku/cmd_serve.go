package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"tuku/internal/errs"
	"tuku/internal/httpapi"
)

func (c *cli) serveCmd() *cobra.Command {
	var rateLimit, tlsCert, tlsKey string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the web UI and API, with background workers in the same process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if rateLimit != "on" && rateLimit != "off" {
				return errs.Ef(errs.Invalid, "serve", "--rate-limit must be on or off, not %q", rateLimit)
			}
			if (tlsCert == "") != (tlsKey == "") {
				return errs.E(errs.Invalid, "serve", "--tls-cert and --tls-key go together", nil)
			}
			var tlsCfg *tls.Config
			if tlsCert != "" {
				kp, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
				if err != nil {
					return errs.E(errs.Invalid, "serve", "cannot load the TLS certificate and key: "+err.Error(), err)
				}
				tlsCfg = &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12}
			}
			if rateLimit == "off" {
				c.cfg.RateLimits = httpapi.NoRateLimits() // before Open, which builds the handler
			}
			a, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			u, pw, err := a.Service.EnsureAdmin(ctx, a.Cfg.AdminEmail)
			if err != nil {
				return err
			}
			if u != nil {
				fmt.Fprintf(c.stdout, "Created the first administrator.\n  email:    %s\n  password: %s\n(shown once, and good for one sign-in: Tuku then asks for a password of your own)\n", u.Email, pw)
			}
			ln, err := net.Listen("tcp", a.Cfg.Addr)
			if err != nil {
				return errs.E(errs.Unavailable, "serve", "cannot listen on "+a.Cfg.Addr, err)
			}
			scheme := "http"
			if tlsCfg != nil {
				// Under TLS the session cookie is Secure and responses carry HSTS.
				ln, scheme = tls.NewListener(ln, tlsCfg), "https"
			}
			fmt.Fprintf(c.stdout, "Tuku is serving on %s://%s (data in %s)\n", scheme, ln.Addr(), a.Cfg.Data)
			return a.Serve(ctx, ln)
		},
	}
	// Off is for load tests and for deployments whose reverse proxy does
	// the limiting (behind one, every client has the proxy's address).
	cmd.Flags().StringVar(&rateLimit, "rate-limit", "on", "per-user and per-IP request rate limits: on or off")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) file; needs --tls-key")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "the PEM private key of --tls-cert")
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
