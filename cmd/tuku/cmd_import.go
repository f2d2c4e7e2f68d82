package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"tuku/internal/app"
	"tuku/internal/errs"
	"tuku/internal/service"
)

// importLine is one line of `tuku import --json` output.
type importLine struct {
	Path    string `json:"path"`
	Status  string `json:"status"`
	AssetID string `json:"asset_id,omitempty"`
	Name    string `json:"name,omitempty"`
	Error   string `json:"error,omitempty"`
	Code    string `json:"code,omitempty"`
}

func (c *cli) importCmd() *cobra.Command {
	var customer, project, desc, category, sens string
	var tags []string
	var jobsN int
	cmd := &cobra.Command{
		Use:   "import PATH… --customer C",
		Short: "Import image files and folders (recursively) for a customer",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			files, err := collectFiles(args)
			if err != nil {
				return err
			}
			a, err := c.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			cu, err := a.Service.ResolveCustomer(ctx, operator, customer)
			if err != nil {
				return err
			}
			// What was imported before from these paths: unchanged files
			// are answered from this map without being read.
			var prefixes []string
			for _, arg := range args {
				if abs, err := filepath.Abs(arg); err == nil {
					if st, err := os.Stat(abs); err == nil && st.IsDir() {
						abs = strings.TrimSuffix(abs, "/") + "/"
					}
					prefixes = append(prefixes, abs)
				}
			}
			index, err := a.Service.ImportIndex(ctx, operator, cu.ID, prefixes)
			if err != nil {
				return err
			}
			base := service.IngestRequest{Customer: cu.ID, Project: project, Tags: tags, Description: desc, Category: category, Sensitivity: sens, Source: "import"}
			if jobsN <= 0 {
				jobsN = runtime.NumCPU() + 1
			}
			var bar *progressbar.ProgressBar
			if f, ok := c.stderr.(*os.File); ok && !c.json && term.IsTerminal(int(f.Fd())) {
				bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(c.stderr),
					progressbar.OptionSetDescription("importing"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			counts := map[string]int{}
			var mu sync.Mutex
			emit := func(l importLine) {
				mu.Lock()
				defer mu.Unlock()
				counts[l.Status]++
				if c.json {
					_ = c.printJSON(l)
				} else if l.Status == service.Rejected {
					if bar != nil {
						_ = bar.Clear()
					}
					fmt.Fprintf(c.stderr, "rejected %s: %s\n", l.Path, l.Error)
				}
				if bar != nil {
					_ = bar.Add(1)
				}
			}
			work := make(chan string)
			var wg sync.WaitGroup
			for i := 0; i < jobsN; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for path := range work {
						emit(importOne(ctx, a, index, base, path))
					}
				}()
			}
			for _, f := range files {
				if ctx.Err() != nil {
					break
				}
				work <- f
			}
			close(work)
			wg.Wait()
			if bar != nil {
				_ = bar.Finish()
			}
			if !c.json {
				fmt.Fprintf(c.stdout, "%d imported, %d duplicate, %d rejected\n", counts[service.Imported], counts[service.Duplicate], counts[service.Rejected])
			}
			if ctx.Err() != nil {
				return errs.E(errs.Unavailable, "import", "interrupted", ctx.Err())
			}
			if counts[service.Rejected] > 0 {
				return exitError(1)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&customer, "customer", "", "customer ID or code (required)")
	f.StringVar(&project, "project", "", "project ID or name")
	f.StringArrayVar(&tags, "tag", nil, "tag to add (repeatable)")
	f.StringVar(&desc, "description", "", "description for every file")
	f.StringVar(&category, "category", "", "category (product, site, document, receipt, id, screenshot, portrait, other)")
	f.StringVar(&sens, "sensitivity", "", "sensitivity (default: the customer's)")
	f.IntVar(&jobsN, "jobs", 0, "files in flight at once (default: CPUs + 1)")
	_ = cmd.MarkFlagRequired("customer")
	return cmd
}

// importOne imports one file. Unchanged files imported before are not read.
func importOne(ctx context.Context, a *app.App, index map[string]service.ImportedFile, base service.IngestRequest, path string) importLine {
	line := importLine{Path: path}
	reject := func(err error) importLine {
		if k := errs.KindOf(err); k == errs.Internal || k == errs.Unavailable {
			a.Log.Error("import failed", "path", path, "err", err)
		}
		line.Status, line.Error, line.Code = service.Rejected, errs.Message(err), string(errs.KindOf(err))
		return line
	}
	st, err := os.Stat(path)
	if err != nil {
		return reject(errs.E(errs.NotFound, "import", "cannot read the file", err))
	}
	lf := service.LocalFile{Path: path, Size: st.Size(), ModTimeNs: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		lf.Inode = sys.Ino
	}
	if f, ok := index[path]; ok && f.Unchanged(lf) {
		line.Status, line.AssetID = service.Duplicate, f.AssetID
		return line
	}
	f, err := os.Open(path)
	if err != nil {
		return reject(errs.E(errs.NotFound, "import", "cannot open the file", err))
	}
	defer f.Close()
	req := base
	req.Filename = filepath.Base(path)
	req.Body = f
	req.Local = &lf
	res, err := a.Service.Ingest(ctx, operator, req)
	if err != nil {
		return reject(err)
	}
	line.Status, line.AssetID, line.Name = res.Status, res.Asset.ID, res.Asset.Name
	return line
}

// collectFiles expands the arguments into absolute paths of regular files,
// folders recursively, hidden files and folders skipped, sorted.
func collectFiles(args []string) ([]string, error) {
	var out []string
	for _, arg := range args {
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, errs.E(errs.Invalid, "import", "bad path "+arg, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, errs.Ef(errs.NotFound, "import", "%s does not exist", arg)
		}
		if !st.IsDir() {
			out = append(out, abs)
			continue
		}
		err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable entries are skipped
			}
			name := d.Name()
			if p != abs && len(name) > 0 && name[0] == '.' {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
