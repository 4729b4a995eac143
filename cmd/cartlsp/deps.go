package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cartlsp/cartlsp/deps"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/registry"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer"
	"github.com/cartlsp/cartlsp/trainer/progress"
	"github.com/cartlsp/cartlsp/trainer/storetrain"
)

// registryEnv names the default registry location of the deps commands.
const registryEnv = "CARTLSP_DEPS_REGISTRY"

// signKeyEnv and verifyKeyEnv name the default keys of deps push and pull.
const (
	signKeyEnv   = "CARTLSP_DEPS_SIGN_KEY"
	verifyKeyEnv = "CARTLSP_DEPS_VERIFY_KEY"
)

func depsUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage (in a repository, or with --repo DIR):\n", commands["deps"].summary)
	fmt.Fprintf(w, "  cartlsp deps ls [--all] [--registry LOC] [--json]      the dependencies, most used first, and where their Cartridges are\n")
	fmt.Fprintf(w, "  cartlsp deps train [--top N | --all] [--shard I/N] [MODULE@VERSION…]\n")
	fmt.Fprintf(w, "                                                         train dependency Cartridges into the store\n")
	fmt.Fprintf(w, "  cartlsp deps push --registry LOC [--sign-key KEY] [MODULE@VERSION…]\n")
	fmt.Fprintf(w, "                                                         share the store's dependency Cartridges (signed)\n")
	fmt.Fprintf(w, "  cartlsp deps pull [--registry LOC] [--verify-key PUB] [MODULE@VERSION…]\n")
	fmt.Fprintf(w, "                                                         fetch dependency Cartridges into the store, checked\n")
	fmt.Fprintf(w, "\nDependencies come from go.mod/go.sum, package.json + package-lock.json, requirements.txt and pyproject.toml\n")
	fmt.Fprintf(w, "(pinned with ==), at the versions they resolve. A Cartridge is kept per model, module@version and recipe.\n")
	fmt.Fprintf(w, "LOC is a registry repository (ghcr.io/team/cartridges; docker's credentials are used), dir:PATH (an OCI\n")
	fmt.Fprintf(w, "image layout) or an https:// copy of one (read-only); the default is $%s.\n", registryEnv)
	fmt.Fprintf(w, "Signatures are cosign's, stored as referrers: `cosign sign --key` signs what push pushed, and\n")
	fmt.Fprintf(w, "`cosign verify --key PUB --experimental-oci11` checks what push --sign-key signed.\n")
}

func runDeps(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		depsUsage(stderr)
		return errUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		depsUsage(stdout)
		return nil
	case "ls", "list":
		return depsLs(ctx, args[1:], stdout, stderr)
	case "train":
		return depsTrain(ctx, args[1:], stdout, stderr)
	case "push":
		return depsPush(ctx, args[1:], stdout, stderr)
	case "pull":
		return depsPull(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cartlsp deps: unknown subcommand %q (want ls, train, push or pull)\n\n", args[0])
	depsUsage(stderr)
	return errUsage
}

// depsFlags are the flags every deps subcommand shares.
type depsFlags struct {
	repo, storeDir, location string
	plainHTTP                bool
	exclude                  listFlag
	mf                       modelFlags
	budget                   func() (trainer.Budget, error)
	method                   string
}

func (f *depsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.repo, "repo", ".", "the repository whose dependencies these are")
	fs.StringVar(&f.storeDir, "store", "", "Cartridge store (default: $CARTLSP_STORE, else the user cache directory)")
	fs.StringVar(&f.location, "registry", os.Getenv(registryEnv), "where Cartridges are shared: HOST/REPOSITORY, dir:PATH or https://URL (default $"+registryEnv+")")
	fs.BoolVar(&f.plainHTTP, "plain-http", false, "talk to the registry over http:// (a local registry without TLS)")
	fs.Var(&f.exclude, "exclude", "glob of files to leave out of the corpora, as for train (repeatable)")
	fs.StringVar(&f.method, "method", "", "self-study, ntp or mixed (budget default); part of the recipe, so of what is found")
	f.mf.register(fs)
	f.budget = trainer.BudgetFlags(fs)
}

// depsEnv is what a deps subcommand works with: the repository's
// dependencies, the model, and the store through a Builder that keys them.
type depsEnv struct {
	found   *deps.Discovery
	loaded  *modelfile.Loaded
	builder *storetrain.Builder
}

func (e *depsEnv) Close() { e.loaded.Close() }

func (f *depsFlags) open(ctx context.Context) (*depsEnv, error) {
	found, err := deps.Discover(ctx, f.repo)
	if err != nil {
		return nil, err
	}
	budget, err := f.budget()
	if err != nil {
		return nil, err
	}
	st, err := store.OpenDefault(f.storeDir)
	if err != nil {
		return nil, err
	}
	if f.mf.threads < 1 {
		return nil, fmt.Errorf("--threads must be at least 1")
	}
	l, err := modelfile.Load(f.mf.path, modelfile.DeviceCPU, f.mf.threads)
	if err != nil {
		return nil, err
	}
	b, err := storetrain.New(l, st, budget, indexer.Filter{Exclude: f.exclude})
	if err != nil {
		l.Close()
		return nil, err
	}
	b.Method = f.method
	return &depsEnv{found: found, loaded: l, builder: b}, nil
}

// selectDeps picks the dependencies a subcommand acts on: those named
// (MODULE@VERSION or a name with one version), else the default set.
func selectDeps(all []deps.Dependency, names []string, def func([]deps.Dependency) []deps.Dependency) ([]deps.Dependency, error) {
	if len(names) == 0 {
		return def(all), nil
	}
	var out []deps.Dependency
	for _, n := range names {
		d, err := deps.Find(all, n)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// used are the shareable dependencies the repository imports, most used
// first.
func used(ds []deps.Dependency) []deps.Dependency {
	var out []deps.Dependency
	for _, d := range ds {
		if d.Files > 0 && !d.Local() {
			out = append(out, d)
		}
	}
	return out
}

func shareable(ds []deps.Dependency) []deps.Dependency {
	return slices.DeleteFunc(slices.Clone(ds), deps.Dependency.Local)
}

func (f *depsFlags) registryOptions() registry.Options {
	return registry.Options{PlainHTTP: f.plainHTTP, UserAgent: "cartlsp/" + version()}
}

func depsLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("deps", "deps ls [--all] [--registry LOC] [--json]", stderr)
	var f depsFlags
	f.register(fs)
	all := fs.Bool("all", false, "list every resolved dependency (indirect ones and those the code does not import too)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if err := applyConfig(fs, f.repo, stderr); err != nil {
		return err
	}
	e, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	list := e.found.Deps
	if !*all {
		list = slices.DeleteFunc(slices.Clone(list), func(d deps.Dependency) bool { return !d.Direct && d.Files == 0 })
	}
	var remote map[string]registry.Artifact
	if f.location != "" {
		tg, err := registry.Open(ctx, f.location, f.registryOptions())
		if err != nil {
			return err
		}
		arts, err := registry.List(ctx, tg, e.builder.Infer.Fingerprint())
		if err != nil {
			return err
		}
		remote = map[string]registry.Artifact{}
		for _, a := range arts {
			remote[a.Reference()] = a
		}
	}
	type row struct {
		deps.Dependency
		Store    string `json:"store"`              // the Cartridge's path in the store, "" when none
		Registry *bool  `json:"registry,omitempty"` // whether the registry has one (nil: no registry)
	}
	var rows []row
	for _, d := range list {
		r := row{Dependency: d}
		if !d.Local() {
			if en, err := e.builder.LookupDependency(d); err != nil {
				return err
			} else if en != nil {
				r.Store = filepath.Join(en.Dir, store.CartridgeName)
			}
			if remote != nil {
				_, ok := remote[e.builder.Artifact(d).Reference()]
				r.Registry = &ok
			}
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"manifests": e.found.Manifests, "notes": e.found.Notes, "deps": rows, "registry": f.location})
	}
	if len(e.found.Manifests) == 0 {
		fmt.Fprintf(stdout, "no go.mod, package.json, requirements.txt or pyproject.toml in %s\n", f.repo)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	head := "#\tDEPENDENCY\tVERSION\tFILES\tUSES\tKIND\tCARTRIDGE"
	if remote != nil {
		head += "\tREGISTRY"
	}
	fmt.Fprintln(tw, head)
	for i, r := range rows {
		kind := string(r.Ecosystem)
		switch {
		case r.Local():
			kind += ", local " + r.Replace
		case !r.Direct:
			kind += ", indirect"
		case r.Dev:
			kind += ", dev"
		}
		cart := "-"
		if r.Store != "" {
			cart = "in the store"
		} else if r.Local() {
			cart = "(trained with the repository)"
		}
		line := fmt.Sprintf("%d\t%s\t%s\t%d\t%d\t%s\t%s", i+1, r.Name, r.Version, r.Files, r.Uses, kind, cart)
		if remote != nil {
			reg := "-"
			if r.Registry != nil && *r.Registry {
				reg = "yes"
			}
			line += "\t" + reg
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	for _, n := range e.found.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "%d of %d dependencies shown (model %s, budget %s); FILES and USES count the repository's non-test imports and references.\n",
		len(rows), len(e.found.Deps), modelfile.NameOf(e.loaded.Path), e.builder.Budget.Name)
	return nil
}

// parseShard reads --shard I/N (1 ≤ I ≤ N); "" is 1/1.
func parseShard(s string) (i, n int, err error) {
	if s == "" {
		return 1, 1, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 1 ≤ I ≤ N, e.g. 2/4", s)
	}
	return i, n, nil
}

// shard is the I-th of N deterministic parts of ds: sorted by ecosystem and
// module@version, every N-th from the I-th, so each CI job of a matrix
// trains its own, and together they train every one exactly once.
func shard(ds []deps.Dependency, i, n int) []deps.Dependency {
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b deps.Dependency) int {
		return strings.Compare(string(a.Ecosystem)+" "+a.ID(), string(b.Ecosystem)+" "+b.ID())
	})
	var out []deps.Dependency
	for k, d := range s {
		if k%n == i-1 {
			out = append(out, d)
		}
	}
	return out
}

// depResult is what deps train, push or pull did with one dependency, for
// --json.
type depResult struct {
	ID        string `json:"id"` // module@version
	Ecosystem string `json:"ecosystem"`
	// State: train "trained" or "stored" (in the store already); push
	// "pushed"; pull "pulled", "stored" or "missing" (the registry has none).
	State     string `json:"state"`
	Path      string `json:"path,omitempty"`      // the Cartridge in the store
	Reference string `json:"reference,omitempty"` // push: LOCATION:TAG
	Digest    string `json:"digest,omitempty"`    // push: the manifest's digest
	Dataset   *bool  `json:"dataset,omitempty"`   // push, pull: whether the dataset came along
	Signed    bool   `json:"signed,omitempty"`    // push: signed (now or before)
}

// depReport prints each dependency's line as it is done, or with --json
// one object at the end: {"dependencies": [...]}.
type depReport struct {
	json    bool
	stdout  io.Writer
	results []depResult
}

func (r *depReport) add(d deps.Dependency, res depResult, format string, a ...any) {
	res.ID, res.Ecosystem = d.ID(), string(d.Ecosystem)
	r.results = append(r.results, res)
	if !r.json {
		fmt.Fprintf(r.stdout, format, a...)
	}
}

// say prints a line that is not about one dependency (not with --json).
func (r *depReport) say(format string, a ...any) {
	if !r.json {
		fmt.Fprintf(r.stdout, format, a...)
	}
}

func (r *depReport) done() error {
	if !r.json {
		return nil
	}
	if r.results == nil {
		r.results = []depResult{}
	}
	return json.NewEncoder(r.stdout).Encode(map[string]any{"dependencies": r.results})
}

func depsTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("deps", "deps train [--top N | --all] [--shard I/N] [--json] [MODULE@VERSION…]", stderr)
	var f depsFlags
	f.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object when done: what was trained or found in the store (progress stays on stderr)")
	top := fs.Int("top", 3, "with no MODULE@VERSION: train the N dependencies the repository uses most")
	all := fs.Bool("all", false, "with no MODULE@VERSION: train every resolved dependency (for CI, with --shard)")
	shardFlag := fs.String("shard", "", "train only part I of N of the list (I/N, deterministic), for a CI matrix")
	quiet := fs.Bool("quiet", false, "no progress bar")
	wait := fs.Bool("wait", false, "when another process trains the same dependency, wait for it")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := applyConfig(fs, f.repo, stderr); err != nil {
		return err
	}
	si, sn, err := parseShard(*shardFlag)
	if err != nil {
		return err
	}
	e, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	list, err := selectDeps(e.found.Deps, names, func(ds []deps.Dependency) []deps.Dependency {
		if *all {
			return shareable(ds)
		}
		u := used(ds)
		return u[:min(len(u), max(*top, 0))]
	})
	if err != nil {
		return err
	}
	list = shard(list, si, sn)
	rep := &depReport{json: *asJSON, stdout: stdout}
	if len(list) == 0 {
		rep.say("nothing to train (see cartlsp deps ls)\n")
		return rep.done()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	src := deps.Sources{Root: f.repo}
	for k, d := range list {
		if en, err := e.builder.LookupDependency(d); err != nil {
			return err
		} else if en != nil {
			p := filepath.Join(en.Dir, store.CartridgeName)
			rep.add(d, depResult{State: "stored", Path: p}, "%s: in the store already (%s)\n", d.ID(), p)
			continue
		}
		dir, err := src.Dir(ctx, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "[%d/%d] training %s %s from %s (budget %s)\n", k+1, len(list), d.Ecosystem, d.ID(), dir, e.builder.Budget.Name)
		ev := progress.NewTraining(stderr, *quiet)
		ev.SetSource(d.ID())
		e.builder.Events = ev.Event
		path, _, err := e.builder.EnsureDependency(ctx, d, dir, *wait)
		ev.Finish()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return fmt.Errorf("interrupted; the work is kept in the store: run the same command again to resume")
			}
			return fmt.Errorf("%s: %w", d.ID(), err)
		}
		rep.add(d, depResult{State: "trained", Path: path}, "%s: trained → %s\n", d.ID(), path)
	}
	return rep.done()
}

func depsPush(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("deps", "deps push --registry LOC [--sign-key KEY] [--json] [MODULE@VERSION…]", stderr)
	var f depsFlags
	f.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object when done: what was pushed, where, with which digest")
	noDataset := fs.Bool("no-dataset", false, "push the Cartridge alone, without the dataset it was trained on (which lets a repository's Cartridge trained beside it replay the dependency's conversations)")
	signKey := fs.String("sign-key", os.Getenv(signKeyEnv), "sign what is pushed with this private key: cosign's (cosign generate-key-pair; its password in $COSIGN_PASSWORD) or a PEM ECDSA, RSA or Ed25519 key (default $"+signKeyEnv+")")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := applyConfig(fs, f.repo, stderr); err != nil {
		return err
	}
	var signer *registry.Signer
	if *signKey != "" {
		if signer, err = registry.LoadSigner(*signKey, []byte(os.Getenv("COSIGN_PASSWORD"))); err != nil {
			return err
		}
	}
	if f.location == "" {
		return fmt.Errorf("deps push: say where with --registry HOST/REPOSITORY or dir:PATH (or set $%s)", registryEnv)
	}
	e, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	list, err := selectDeps(e.found.Deps, names, shareable)
	if err != nil {
		return err
	}
	tg, err := registry.OpenWritable(ctx, f.location, f.registryOptions())
	if err != nil {
		return err
	}
	pushed := 0
	rep := &depReport{json: *asJSON, stdout: stdout}
	for _, d := range list {
		en, err := e.builder.LookupDependency(d)
		if err != nil {
			return err
		}
		if en == nil {
			if len(names) > 0 {
				return fmt.Errorf("%s has no Cartridge in the store for this model and recipe (cartlsp deps train %s)", d.ID(), d.ID())
			}
			continue
		}
		a := e.builder.Artifact(d)
		m, files, err := e.builder.PushDependency(ctx, tg, d, en, *noDataset)
		if err != nil {
			return err
		}
		withData, hasData := ", no dataset", files.Dataset != ""
		if hasData {
			withData = ", with its dataset"
		}
		signed := ""
		if signer != nil {
			if err := registry.Verify(ctx, tg, m, []crypto.PublicKey{signer.Public()}); err == nil {
				signed = ", signed already"
			} else if _, err := registry.Sign(ctx, tg, m, f.location, signer); err != nil {
				return err
			} else {
				signed = ", signed"
			}
		}
		rep.add(d, depResult{State: "pushed", Path: filepath.Join(en.Dir, store.CartridgeName), Reference: f.location + ":" + a.Reference(),
			Digest: m.Digest.String(), Dataset: &hasData, Signed: signed != ""},
			"%s → %s:%s (%s%s%s)\n", d.ID(), f.location, a.Reference(), m.Digest, withData, signed)
		pushed++
	}
	if pushed == 0 {
		rep.say("no dependency Cartridges in the store to push (cartlsp deps train)\n")
	}
	return rep.done()
}

func depsPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("deps", "deps pull [--registry LOC] [--json] [MODULE@VERSION…]", stderr)
	var f depsFlags
	f.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object when done: what was pulled, found in the store, or missing")
	maxBytes := fs.Int64("max-bytes", registry.DefaultMaxCartridgeBytes, "refuse a Cartridge larger than this")
	maxData := fs.Int64("max-dataset-bytes", registry.DefaultMaxDatasetBytes, "leave out a dataset larger than this (the Cartridge is pulled; a repository's Cartridge trained beside it cannot replay it); 0 is the default")
	verifyKey := fs.String("verify-key", os.Getenv(verifyKeyEnv), "accept only Cartridges signed by this public key (cosign.pub or a PEM public key; default $"+verifyKeyEnv+")")
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if err := applyConfig(fs, f.repo, stderr); err != nil {
		return err
	}
	opts := registry.PullOptions{MaxCartridgeBytes: *maxBytes, MaxDatasetBytes: *maxData}
	if *verifyKey != "" {
		if opts.Keys, err = registry.LoadPublicKeys(*verifyKey); err != nil {
			return err
		}
	}
	if f.location == "" {
		return fmt.Errorf("deps pull: say where from with --registry HOST/REPOSITORY, dir:PATH or https://URL (or set $%s)", registryEnv)
	}
	e, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	list, err := selectDeps(e.found.Deps, names, shareable)
	if err != nil {
		return err
	}
	if _, err := registry.Open(ctx, f.location, f.registryOptions()); err != nil {
		return err // unreachable or not a store: say so once, not per dependency
	}
	got, missing := 0, 0
	rep := &depReport{json: *asJSON, stdout: stdout}
	for _, d := range list {
		path, installed, err := e.builder.PullDependency(ctx, d, f.location, f.registryOptions(), opts)
		switch {
		case errors.Is(err, registry.ErrNotFound) && len(names) == 0:
			missing++
			if rep.json {
				rep.add(d, depResult{State: "missing"}, "")
			}
			continue
		case err != nil:
			return err
		case installed:
			with, hasData := "with its dataset", true
			if st, err := os.Stat(filepath.Join(filepath.Dir(path), store.WorkName, trainer.DatasetFile)); err != nil || !st.Mode().IsRegular() {
				with, hasData = "without its dataset: a repository's Cartridge will not train beside it", false
			}
			rep.add(d, depResult{State: "pulled", Path: path, Dataset: &hasData}, "%s: pulled → %s (%s)\n", d.ID(), path, with)
			got++
		default:
			rep.add(d, depResult{State: "stored", Path: path}, "%s: in the store already\n", d.ID())
		}
	}
	rep.say("%d pulled from %s", got, f.location)
	if missing > 0 {
		rep.say("; %d dependencies have no Cartridge there for this model and recipe", missing)
	}
	rep.say("\n")
	return rep.done()
}
