package storetrain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cartlsp/cartlsp/deps"
	"github.com/cartlsp/cartlsp/indexer"
	"github.com/cartlsp/cartlsp/registry"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DependencyFilter is the corpus filter of a dependency: the Builder's
// (the repository's) with the ecosystem's tests left out (deps.Filter).
func (b *Builder) DependencyFilter(d deps.Dependency) indexer.Filter {
	return deps.Filter(d.Ecosystem, b.Filter)
}

// DependencyKey is the store key of a dependency's Cartridge: the model,
// the dependency (deps.CorpusFingerprint: name, version, filter,
// tokenizer) and the recipe. It needs no source, so every machine finds
// the same entry, trained here or pulled.
func (b *Builder) DependencyKey(d deps.Dependency) store.Key {
	bud := b.Budget
	bud.Synth.Description = b.Description
	return store.Key{
		Model:  b.Infer.Fingerprint(),
		Corpus: deps.CorpusFingerprint(d, b.DependencyFilter(d), b.Chat.Tokenizer().Fingerprint()),
		Recipe: trainer.RecipeHash(b.method(), bud),
	}
}

// DependencyMeta is the store metadata of a dependency's entry.
func (b *Builder) DependencyMeta(d deps.Dependency, source string) store.Meta {
	return store.Meta{Key: b.DependencyKey(d), Repo: d.ID(), Ecosystem: string(d.Ecosystem), Source: source,
		Budget: b.Budget.Name, Method: b.method(), Created: time.Now().UTC()}
}

// LookupDependency finds a dependency's Cartridge in the store; nil when
// there is none.
func (b *Builder) LookupDependency(d deps.Dependency) (*store.Entry, error) {
	return b.Store.Lookup(b.DependencyKey(d))
}

// EnsureDependency makes sure the store has the dependency's Cartridge,
// training it on the source in dir when it has not (from scratch: a
// version's source is fixed, there is nothing to warm-start from). It
// returns the entry's Cartridge path and whether it trained.
func (b *Builder) EnsureDependency(ctx context.Context, d deps.Dependency, dir string, wait bool) (path string, trained bool, err error) {
	if d.Local() {
		return "", false, fmt.Errorf("%s is replaced by the directory %s: it is part of the repository's own code, trained with it", d.ID(), d.Replace)
	}
	k := b.DependencyKey(d)
	if e, err := b.Store.Lookup(k); err != nil {
		return "", false, err
	} else if e != nil {
		return filepath.Join(e.Dir, store.CartridgeName), false, nil
	}
	release, err := b.Store.LockRepo(ctx, "dependency "+string(d.Ecosystem)+" "+d.ID(), wait)
	if err != nil {
		return "", false, err
	}
	defer release()
	if e, err := b.Store.Lookup(k); err != nil {
		return "", false, err
	} else if e != nil {
		return filepath.Join(e.Dir, store.CartridgeName), false, nil
	}
	meta := b.DependencyMeta(d, "trained")
	txn, err := b.Store.Begin(ctx, k, meta, wait)
	if err != nil {
		return "", false, err
	}
	defer txn.Release()
	corpus, err := indexer.LoadDir(ctx, dir, b.DependencyFilter(d))
	if err != nil {
		return "", false, err
	}
	if len(corpus.Files) == 0 {
		return "", false, fmt.Errorf("%s: no source files in %s under the corpus filter", d.ID(), dir)
	}
	corpus.Kind, corpus.Source, corpus.Description = "module", d.ID(), b.Description
	job := &trainer.Job{Corpus: corpus, Infer: b.Infer, Chat: b.Chat, Student: b.Student, Teacher: b.Teacher, TeacherName: b.TeacherName,
		Method: b.method(), Budget: b.Budget, WorkDir: txn.WorkDir(), Out: txn.TempCartridgePath(), Events: b.Events, Yield: b.Yield}
	jr, err := job.Run(ctx)
	if err != nil {
		return "", false, err
	}
	meta.TrainSeconds = jr.SynthSeconds + jr.Train.Seconds
	meta.Created = time.Now().UTC()
	if err := txn.Commit(meta, trainer.CheckpointFile); err != nil {
		return "", false, err
	}
	return txn.CartridgePath(), true, nil
}

// InstallDependency puts a Cartridge fetched by fetch (which writes it to
// the path dst it is given, checked, or fails; and may write the dataset it
// was trained on into workDir, for replay) into the store as the
// dependency's entry, from source (the location it came from). A store that
// has the entry already keeps it.
func (b *Builder) InstallDependency(ctx context.Context, d deps.Dependency, source string, fetch func(dst, workDir string) error) (path string, installed bool, err error) {
	k := b.DependencyKey(d)
	if e, err := b.Store.Lookup(k); err != nil {
		return "", false, err
	} else if e != nil {
		return filepath.Join(e.Dir, store.CartridgeName), false, nil
	}
	meta := b.DependencyMeta(d, source)
	txn, err := b.Store.Begin(ctx, k, meta, true)
	if err != nil {
		return "", false, err
	}
	defer txn.Release()
	if err := fetch(txn.TempCartridgePath(), txn.WorkDir()); err != nil {
		return "", false, err
	}
	if err := txn.Commit(meta); err != nil {
		return "", false, err
	}
	return txn.CartridgePath(), true, nil
}

// PushDependency pushes the store's Cartridge of a dependency (entry e) to
// t as its artifact, with the dataset it was trained on (the entry's
// work/dataset.bin, checked first) unless withoutDataset or there is none.
func (b *Builder) PushDependency(ctx context.Context, t registry.Writable, d deps.Dependency, e *store.Entry, withoutDataset bool) (ocispec.Descriptor, registry.PushFiles, error) {
	files := registry.PushFiles{Cartridge: filepath.Join(e.Dir, store.CartridgeName)}
	if ds := filepath.Join(e.Dir, store.WorkName, trainer.DatasetFile); !withoutDataset {
		if st, err := os.Stat(ds); err == nil && st.Mode().IsRegular() {
			if _, err := trainer.CheckDataset(ds, b.Infer.Fingerprint(), b.Infer.Vocab); err != nil {
				return ocispec.Descriptor{}, files, fmt.Errorf("%s: %w (cartlsp deps push --no-dataset pushes the Cartridge alone)", d.ID(), err)
			}
			files.Dataset = ds
		}
	}
	m, err := registry.Push(ctx, t, b.Artifact(d), files)
	return m, files, err
}

// Artifact is the registry artifact of a dependency's Cartridge: its
// identity (module, version, model, corpus, recipe) as the store keys it.
func (b *Builder) Artifact(d deps.Dependency) registry.Artifact {
	k := b.DependencyKey(d)
	return registry.Artifact{Ecosystem: string(d.Ecosystem), Module: d.Name, Version: d.Version, Model: k.Model,
		ModelName: b.ModelName, Corpus: k.Corpus, Recipe: k.Recipe, Budget: b.Budget.Name}
}

// PullDependency fetches a dependency's Cartridge from a registry location
// into the store (registry.Pull's checks, then InstallDependency), with the
// dataset it was trained on when the artifact has one within
// lim.MaxDatasetBytes: checked (trainer.CheckDataset) and kept as the
// entry's work/dataset.bin, so that a repository's Cartridge trained beside
// it replays it (Builder.Beside). A store that has it already keeps it.
func (b *Builder) PullDependency(ctx context.Context, d deps.Dependency, location string, o registry.Options, lim registry.PullOptions) (path string, installed bool, err error) {
	if d.Local() {
		return "", false, fmt.Errorf("%s is replaced by the directory %s: it has no shared Cartridge", d.ID(), d.Replace)
	}
	if e, err := b.LookupDependency(d); err != nil || e != nil {
		if e != nil {
			return filepath.Join(e.Dir, store.CartridgeName), false, nil
		}
		return "", false, err
	}
	tg, err := registry.Open(ctx, location, o)
	if err != nil {
		return "", false, err
	}
	a, k := b.Artifact(d), b.DependencyKey(d)
	return b.InstallDependency(ctx, d, location, func(dst, workDir string) error {
		lim.Dataset = filepath.Join(workDir, trainer.DatasetFile)
		lim.CheckDataset = func(p string) error {
			_, err := trainer.CheckDataset(p, k.Model, b.Infer.Vocab)
			return err
		}
		got, err := registry.Pull(ctx, tg, a, dst, lim)
		if err == nil && got.DatasetSkipped != "" {
			b.log().Info("dependency pulled without its dataset: a Cartridge trained beside it cannot replay it", "dependency", d.ID(), "why", got.DatasetSkipped)
		}
		return err
	})
}

// Dependencies finds a workspace's dependency Cartridges for the language
// server (lsp.Dependencies): specs are resolved among the dependencies the
// repository's manifests resolve (deps.Discover, deps.Find).
type Dependencies struct{ B *Builder }

func (x Dependencies) resolve(ctx context.Context, root, spec string) (deps.Dependency, error) {
	found, err := deps.Discover(ctx, root)
	if err != nil {
		return deps.Dependency{}, err
	}
	return deps.Find(found.Deps, spec)
}

// Find returns the store's Cartridge of the dependency spec names ("" when
// the store has none) and its module@version.
func (x Dependencies) Find(ctx context.Context, root, spec string) (path, id string, err error) {
	d, err := x.resolve(ctx, root, spec)
	if err != nil {
		return "", "", err
	}
	e, err := x.B.LookupDependency(d)
	if err != nil || e == nil {
		return "", d.ID(), err
	}
	return filepath.Join(e.Dir, store.CartridgeName), d.ID(), nil
}

// Pull fetches the dependency's Cartridge from location into the store.
func (x Dependencies) Pull(ctx context.Context, root, spec, location string, o registry.Options, po registry.PullOptions) (path, id string, err error) {
	d, err := x.resolve(ctx, root, spec)
	if err != nil {
		return "", "", err
	}
	path, _, err = x.B.PullDependency(ctx, d, location, o, po)
	return path, d.ID(), err
}
