package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Target is where Cartridges are read from: an OCI registry's repository, an
// OCI image layout directory, or a static HTTP(S) copy of one.
type Target interface {
	Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error)
	Fetch(ctx context.Context, target ocispec.Descriptor) (io.ReadCloser, error)
	Exists(ctx context.Context, target ocispec.Descriptor) (bool, error)
	Tags(ctx context.Context, last string, fn func(tags []string) error) error
	// Predecessors are the manifests that refer to a node (its signatures).
	Predecessors(ctx context.Context, node ocispec.Descriptor) ([]ocispec.Descriptor, error)
}

// Writable is a Target that can be pushed to (a registry or a directory).
type Writable interface {
	Target
	Push(ctx context.Context, expected ocispec.Descriptor, content io.Reader) error
	Tag(ctx context.Context, desc ocispec.Descriptor, reference string) error
}

// Options configure Open.
type Options struct {
	// PlainHTTP talks to a registry over http:// instead of https:// (a
	// registry on localhost or a trusted network without TLS).
	PlainHTTP bool
	// HTTPClient is the client for registries and static stores (default: one
	// with retries for registries, http.DefaultClient's transport with a
	// timeout for static stores). Its transport's TLS settings decide which
	// certificates are trusted; SSL_CERT_FILE and SSL_CERT_DIR add to the
	// system's on Linux.
	HTTPClient *http.Client
	// DockerConfig is the docker configuration file whose credentials (and
	// credential helpers) registries are accessed with (default:
	// $DOCKER_CONFIG/config.json, else ~/.docker/config.json).
	DockerConfig string
	// UserAgent is sent to registries and static stores.
	UserAgent string
}

// Kind names what a location is.
type Kind string

const (
	KindRegistry Kind = "registry"
	KindDir      Kind = "dir"
	KindHTTP     Kind = "http"
)

// Location is a parsed location string.
type Location struct {
	Kind Kind
	// Ref is a registry repository ("host[:port]/path"), a directory, or an
	// http(s) URL.
	Ref string
}

// ParseLocation reads a location: "dir:PATH" or a path starting with "/",
// "./", "../" or "~/" is an OCI layout directory; "http://…" or "https://…"
// a static copy of one; "oci://HOST/REPO" or "HOST/REPO" (with a dot or a
// port in HOST, or localhost, as docker reads image names) a registry
// repository.
func ParseLocation(s string) (Location, error) {
	switch {
	case s == "":
		return Location{}, errors.New("registry: an empty location")
	case strings.HasPrefix(s, "dir:"):
		return Location{KindDir, expandHome(strings.TrimPrefix(s, "dir:"))}, nil
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, "./"), strings.HasPrefix(s, "../"), strings.HasPrefix(s, "~/"), s == ".":
		return Location{KindDir, expandHome(s)}, nil
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return Location{}, fmt.Errorf("registry: %q is not a URL", s)
		}
		return Location{KindHTTP, s}, nil
	}
	ref := strings.TrimPrefix(s, "oci://")
	host, repo, ok := strings.Cut(ref, "/")
	if !ok || repo == "" || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return Location{}, fmt.Errorf("registry: %q is not a location: want HOST/REPOSITORY (e.g. ghcr.io/team/cartridges), dir:PATH or an https:// URL", s)
	}
	if strings.ContainsAny(repo, "@:") {
		return Location{}, fmt.Errorf("registry: %q names a tag or digest; name the repository only (cartlsp chooses the tags)", s)
	}
	if _, err := remote.NewRepository(ref); err != nil {
		return Location{}, fmt.Errorf("registry: %q: %w", s, err)
	}
	return Location{KindRegistry, ref}, nil
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if h, err := os.UserHomeDir(); err == nil {
			return path.Join(h, rest)
		}
	}
	return p
}

// Open opens a location for reading; OpenWritable for pushing.
func Open(ctx context.Context, location string, o Options) (Target, error) {
	l, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	switch l.Kind {
	case KindDir:
		if st, err := os.Stat(l.Ref); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("registry: %s is not a directory (push to it first)", l.Ref)
		}
		s, err := oci.NewFromFS(ctx, os.DirFS(l.Ref))
		if err != nil {
			return nil, fmt.Errorf("registry: %s: %w", l.Ref, err)
		}
		return s, nil
	case KindHTTP:
		s, err := oci.NewFromFS(ctx, &httpFS{base: strings.TrimSuffix(l.Ref, "/"), client: o.staticClient(), ua: o.UserAgent, ctx: ctx})
		if err != nil {
			return nil, fmt.Errorf("registry: %s: %w", l.Ref, err)
		}
		return s, nil
	}
	return o.repository(l.Ref)
}

// OpenWritable opens a registry repository or a directory (made when
// missing) for pushing; a static HTTP store is read-only.
func OpenWritable(ctx context.Context, location string, o Options) (Writable, error) {
	l, err := ParseLocation(location)
	if err != nil {
		return nil, err
	}
	switch l.Kind {
	case KindDir:
		s, err := oci.NewWithContext(ctx, l.Ref)
		if err != nil {
			return nil, fmt.Errorf("registry: %s: %w", l.Ref, err)
		}
		return s, nil
	case KindHTTP:
		return nil, fmt.Errorf("registry: %s is a static HTTP store, read-only: push to a directory and publish it (see docs/ARCHITECTURE.md, \"Sharing Cartridges\")", l.Ref)
	}
	return o.repository(l.Ref)
}

func (o Options) repository(ref string) (*remote.Repository, error) {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", ref, err)
	}
	var creds credentials.Store
	if o.DockerConfig != "" {
		creds, err = credentials.NewStore(o.DockerConfig, credentials.StoreOptions{})
	} else {
		creds, err = credentials.NewStoreFromDocker(credentials.StoreOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("registry: reading docker credentials: %w", err)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = retry.DefaultClient
	}
	client := &auth.Client{Client: hc, Credential: credentials.Credential(creds), Cache: auth.NewCache()}
	if o.UserAgent != "" {
		client.SetUserAgent(o.UserAgent)
	}
	repo.Client = client
	repo.PlainHTTP = o.PlainHTTP
	return repo, nil
}

func (o Options) staticClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Minute}
}

// httpFS is a static HTTP(S) directory as an fs.FS: Open GETs base/name.
// oras-go reads an OCI image layout from it (index.json, oci-layout,
// blobs/sha256/…), and checks every blob's digest as it reads it.
type httpFS struct {
	base   string
	client *http.Client
	ua     string
	ctx    context.Context
}

func (h *httpFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, h.base+"/"+name, nil)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if h.ua != "" {
		req.Header.Set("User-Agent", h.ua)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("HTTP %s", resp.Status)}
	}
	return &httpFile{name: path.Base(name), body: resp.Body, size: resp.ContentLength}, nil
}

type httpFile struct {
	name string
	body io.ReadCloser
	size int64
}

func (f *httpFile) Read(p []byte) (int, error) { return f.body.Read(p) }
func (f *httpFile) Close() error               { return f.body.Close() }
func (f *httpFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *httpFile) Name() string               { return f.name }
func (f *httpFile) Size() int64                { return max(f.size, 0) }
func (f *httpFile) Mode() fs.FileMode          { return 0o444 }
func (f *httpFile) ModTime() time.Time         { return time.Time{} }
func (f *httpFile) IsDir() bool                { return false }
func (f *httpFile) Sys() any                   { return nil }

// explain adds what to do to an error a registry answered: credentials for a
// refusal, the scheme for a TLS handshake with a plain-HTTP server.
func explain(err error) error {
	var er *errcode.ErrorResponse
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrBasicCredentialNotFound),
		errors.As(err, &er) && (er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden):
		return fmt.Errorf("%w (the registry wants credentials: `docker login HOST` writes them where cartlsp reads them, $DOCKER_CONFIG/config.json or ~/.docker/config.json)", err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w (the registry speaks plain HTTP: pass --plain-http, or set registryPlainHttp)", err)
	}
	return err
}
