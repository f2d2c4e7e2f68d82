// Command tuku is Tuku's one binary: the server, the workers and the
// operator's command line. Every command takes the same configuration
// (--data, --db, --blobs, --addr, each with a TUKU_<NAME> environment twin)
// and works whether or not a server is running on the same data.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tuku/internal/app"
	"tuku/internal/errs"
)

func main() {
	app.MaybeServeImagingWorker()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli holds what every command shares.
type cli struct {
	cfg    app.Config
	json   bool
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "tuku",
		Short:         "Tuku (图库) keeps the images your customers send you",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       app.Version,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&c.cfg.Data, "data", "./tuku-data", "data directory")
	pf.StringVar(&c.cfg.DB, "db", "", "database: empty for SQLite in the data directory, or postgres://…")
	pf.StringVar(&c.cfg.Blobs, "blobs", "", "blob store: empty for file://<data>/blobs, or s3://bucket/prefix?endpoint=…&region=…")
	pf.StringVar(&c.cfg.Addr, "addr", "127.0.0.1:8080", "HTTP listen address")
	pf.BoolVar(&c.json, "json", false, "machine-readable output (one JSON object per line for streams)")
	pf.StringSliceVar(&c.cfg.RequireMFA, "require-mfa", nil, "roles that must sign in with a second factor (admin, member), or all")
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return envTwins(cmd.Flags())
	}
	root.AddCommand(
		c.serveCmd(), c.workerCmd(),
		c.userCmd(), c.tokenCmd(), c.grantCmd(),
		c.customerCmd(), c.projectCmd(),
		c.importCmd(), c.assetCmd(), c.searchCmd(),
		c.auditCmd(),
	)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ex exitError
	if errors.As(err, &ex) {
		return int(ex)
	}
	if c.json {
		_ = json.NewEncoder(stderr).Encode(map[string]any{"error": map[string]string{"code": string(errs.KindOf(err)), "message": errs.Message(err)}})
	} else if k := errs.KindOf(err); k == errs.Internal || k == errs.Unavailable {
		fmt.Fprintln(stderr, "tuku:", err)
	} else {
		fmt.Fprintln(stderr, "tuku:", errs.Message(err))
	}
	return 1
}

// exitError ends a command with a status and no further message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// envTwins sets every flag not given on the command line from its
// TUKU_<NAME> environment variable.
func envTwins(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "TUKU_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = errs.Ef(errs.Invalid, "config", "%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

// open builds the application for a command.
func (c *cli) open(ctx context.Context) (*app.App, error) {
	return app.Open(ctx, c.cfg)
}

// withApp adapts the body of a command that needs the application: it
// opens it from the configuration flags, runs body and closes it.
func (c *cli) withApp(body func(ctx context.Context, a *app.App, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		defer a.Close()
		return body(cmd.Context(), a, args)
	}
}

// printJSON writes one JSON object on a line.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(true)
	return enc.Encode(v)
}
