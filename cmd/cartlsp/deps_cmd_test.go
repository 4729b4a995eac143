package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartlsp/cartlsp/deps"
	"github.com/cartlsp/cartlsp/indexer/gittest"
	"github.com/cartlsp/cartlsp/registry/registrytest"
	"github.com/cartlsp/cartlsp/store"
	"github.com/cartlsp/cartlsp/trainer"
)

// depsRepo writes a repository that depends on two modules of a module
// cache it also writes (GOMODCACHE points there, so nothing is downloaded):
// example.com/used, imported twice, and example.com/unused.
func depsRepo(t *testing.T, dir string) (repo string) {
	t.Helper()
	cache := filepath.Join(dir, "modcache")
	t.Setenv("GOMODCACHE", cache)
	t.Setenv("GOFLAGS", "-modcacherw")
	for _, m := range []string{"used@v1.2.0", "unused@v0.1.0"} {
		var b strings.Builder
		name := strings.Split(m, "@")[0]
		fmt.Fprintf(&b, "// Package %s is a dependency.\npackage %s\n\n", name, name)
		for j := 0; j < 12; j++ {
			fmt.Fprintf(&b, "// Value%d returns %d.\nfunc Value%d() int { return %d }\n\n", j, j, j, j)
		}
		d := filepath.Join(cache, "example.com", m)
		os.MkdirAll(filepath.Join(d, "testdata"), 0o755)
		os.WriteFile(filepath.Join(d, name+".go"), []byte(b.String()), 0o644)
		os.WriteFile(filepath.Join(d, name+"_test.go"), []byte("package "+name+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "testdata", "x.txt"), []byte("fixture\n"), 0o644)
	}
	repo = filepath.Join(dir, "repo")
	os.MkdirAll(filepath.Join(repo, "cmd"), 0o755)
	os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/used v1.2.0\n\texample.com/unused v0.1.0\n\texample.com/lib v0.0.0\n)\n\nreplace example.com/lib => ./lib\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "main.go"), []byte("package main\n\nimport \"example.com/used\"\n\nfunc main() { println(used.Value1(), used.Value2()) }\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "cmd", "x.go"), []byte("package cmd\n\nimport \"example.com/used\"\n\nvar X = used.Value3()\n"), 0o644)
	return repo
}

type depsLsRow struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Files    int    `json:"files"`
	Uses     int    `json:"uses"`
	Store    string `json:"store"`
	Registry *bool  `json:"registry"`
}

func depsLsJSON(t *testing.T, args ...string) []depsLsRow {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"deps", "ls", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("deps ls: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var v struct{ Deps []depsLsRow }
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("deps ls --json: %v\n%s", err, stdout)
	}
	return v.Deps
}

// TestCLIDeps trains the most used dependency's Cartridge into a store,
// pushes it to a directory and to a real registry, and pulls it into fresh
// stores from each, which then find it where the first store has it.
func TestCLIDeps(t *testing.T) {
	dir := t.TempDir()
	modelPath := writeChatModel(t, dir)
	repo := depsRepo(t, dir)
	common := []string{"--repo", repo, "--model", modelPath, "--threads", "1", "--budget", "tiny", "--conversations", "4",
		"--p", "8", "--chunk-min", "48", "--chunk-max", "96", "--max-user", "12", "--max-answer", "16", "--batch", "2"}
	storeA := filepath.Join(dir, "storeA")
	withStore := func(s string, args ...string) []string {
		return append(append(append([]string(nil), args...), common...), "--store", s)
	}

	rows := depsLsJSON(t, withStore(storeA)...)
	if len(rows) != 3 || rows[0].Name != "example.com/used" || rows[0].Files != 2 || rows[0].Uses != 3 || rows[0].Store != "" {
		t.Fatalf("deps ls: %+v; want example.com/used first, imported by 2 files, 3 uses, not in the store", rows)
	}
	code, stdout, stderr := runCLI(t, withStore(storeA, "deps", "ls")...)
	if code != 0 || !strings.Contains(stdout, "example.com/used") || !strings.Contains(stdout, "local ./lib") {
		t.Errorf("deps ls (table): exit %d\n%s\n%s", code, stdout, stderr)
	}

	// With no names, train trains the used ones (--top 3): example.com/used only.
	code, stdout, stderr = runCLI(t, withStore(storeA, "deps", "train", "--quiet")...)
	if code != 0 || !strings.Contains(stdout, "example.com/used@v1.2.0: trained") || strings.Contains(stdout, "unused") {
		t.Fatalf("deps train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	rows = depsLsJSON(t, withStore(storeA)...)
	if rows[0].Store == "" {
		t.Fatalf("after deps train, the store has no Cartridge for example.com/used: %+v", rows)
	}
	code, stdout, _ = runCLI(t, withStore(storeA, "deps", "train", "--quiet", "example.com/used")...)
	if code != 0 || !strings.Contains(stdout, "in the store already") {
		t.Errorf("training again: exit %d\n%s", code, stdout)
	}
	// --json: one object listing what each command did.
	depsJSON := func(args ...string) []depResult {
		t.Helper()
		code, stdout, stderr := runCLI(t, withStore(storeA, append(args, "--json")...)...)
		var out struct{ Dependencies []depResult }
		if err := json.Unmarshal([]byte(stdout), &out); code != 0 || err != nil || out.Dependencies == nil {
			t.Fatalf("%v --json: exit %d, %v\n%s\n%s", args, code, err, stdout, stderr)
		}
		return out.Dependencies
	}
	if got := depsJSON("deps", "train", "--quiet", "example.com/used"); len(got) != 1 || got[0].ID != "example.com/used@v1.2.0" || got[0].State != "stored" || got[0].Path == "" {
		t.Errorf("deps train --json: %+v", got)
	}
	jsonShared := "dir:" + filepath.Join(dir, "json-shared")
	if got := depsJSON("deps", "push", "--registry", jsonShared); len(got) != 1 || got[0].State != "pushed" || !strings.HasPrefix(got[0].Digest, "sha256:") ||
		!strings.HasPrefix(got[0].Reference, jsonShared+":") || got[0].Dataset == nil || !*got[0].Dataset {
		t.Errorf("deps push --json: %+v", got)
	}
	if got := depsJSON("deps", "pull", "--registry", jsonShared); len(got) != 2 || got[0].State != "stored" || got[1].ID != "example.com/unused@v0.1.0" || got[1].State != "missing" {
		t.Errorf("deps pull --json into a store that has it: %+v", got)
	}
	code, _, stderr = runCLI(t, withStore(storeA, "deps", "train", "example.com/lib")...)
	if code == 0 || !strings.Contains(stderr, "part of the repository") {
		t.Errorf("training a local replacement: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, withStore(storeA, "deps", "train", "example.com/absent")...)
	if code == 0 || !strings.Contains(stderr, "does not depend on") {
		t.Errorf("training a module the repository does not depend on: exit %d\n%s", code, stderr)
	}

	share := func(location string, extra ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, withStore(storeA, append([]string{"deps", "push", "--registry", location}, extra...)...)...)
		if code != 0 || !strings.Contains(stdout, "example.com/used@v1.2.0 → ") || !strings.Contains(stdout, "with its dataset") {
			t.Fatalf("deps push %s: exit %d\n%s\n%s", location, code, stdout, stderr)
		}
		rows := depsLsJSON(t, withStore(filepath.Join(dir, "empty"), append([]string{"--registry", location}, extra...)...)...)
		byName := map[string]depsLsRow{}
		for _, r := range rows {
			byName[r.Name] = r
		}
		if u, n, l := byName["example.com/used"], byName["example.com/unused"], byName["example.com/lib"]; u.Registry == nil || !*u.Registry || n.Registry == nil || *n.Registry || l.Registry != nil {
			t.Errorf("deps ls --registry %s: %+v; want example.com/used there and nothing else", location, rows)
		}
		storeB := t.TempDir()
		code, stdout, stderr = runCLI(t, withStore(storeB, append([]string{"deps", "pull", "--registry", location}, extra...)...)...)
		if code != 0 || !strings.Contains(stdout, "example.com/used@v1.2.0: pulled") || !strings.Contains(stdout, "1 pulled") {
			t.Fatalf("deps pull %s: exit %d\n%s\n%s", location, code, stdout, stderr)
		}
		a, _ := os.ReadFile(depsLsJSON(t, withStore(storeA)...)[0].Store)
		b, _ := os.ReadFile(depsLsJSON(t, withStore(storeB)...)[0].Store)
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s: the pulled Cartridge (%d bytes) is not the pushed one (%d bytes)", location, len(b), len(a))
		}
		// With its dataset, which a repository's Cartridge replays when it
		// trains beside it.
		dataset := func(st string) []byte {
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(depsLsJSON(t, withStore(st)...)[0].Store), store.WorkName, trainer.DatasetFile))
			return b
		}
		if da, db := dataset(storeA), dataset(storeB); len(da) == 0 || string(da) != string(db) || !strings.Contains(stdout, "(with its dataset)") {
			t.Errorf("%s: the pulled dataset (%d bytes) is not the pushed one (%d bytes)\n%s", location, len(db), len(da), stdout)
		}
		// Another recipe is another artifact: nothing to pull.
		code, stdout, _ = runCLI(t, withStore(t.TempDir(), append([]string{"deps", "pull", "--registry", location, "--seed", "7"}, extra...)...)...)
		if code != 0 || !strings.Contains(stdout, "0 pulled") {
			t.Errorf("pulling for another recipe: exit %d\n%s", code, stdout)
		}
	}
	share("dir:" + filepath.Join(dir, "shared"))

	// Signed: pull --verify-key refuses what is not signed by the key, push
	// --sign-key signs once.
	priv, pub := registrytest.KeyPair(t)
	signed := "dir:" + filepath.Join(dir, "signed")
	if code, stdout, stderr := runCLI(t, withStore(storeA, "deps", "push", "--registry", signed)...); code != 0 {
		t.Fatalf("deps push: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, withStore(t.TempDir(), "deps", "pull", "--registry", signed, "--verify-key", pub)...)
	if code == 0 || !strings.Contains(stderr, "not signed") {
		t.Errorf("pulling an unsigned Cartridge with --verify-key: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{", signed)", ", signed already)"} {
		code, stdout, stderr := runCLI(t, withStore(storeA, "deps", "push", "--registry", signed, "--sign-key", priv)...)
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("deps push --sign-key: exit %d, want %q\n%s\n%s", code, want, stdout, stderr)
		}
	}
	code, stdout, stderr = runCLI(t, withStore(t.TempDir(), "deps", "pull", "--registry", signed, "--verify-key", pub)...)
	if code != 0 || !strings.Contains(stdout, "1 pulled") {
		t.Errorf("pulling a signed Cartridge with --verify-key: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, withStore(t.TempDir(), "deps", "pull", "--registry", signed, "--verify-key", priv)...)
	if code == 0 || !strings.Contains(stderr, "not a public key") {
		t.Errorf("--verify-key given the private key: exit %d\n%s", code, stderr)
	}
	if os.Getenv("CARTLSP_REGISTRY") != "" {
		s := registrytest.Start(t, registrytest.Config{User: "ci", Password: "pw"})
		t.Setenv("DOCKER_CONFIG", filepath.Dir(s.DockerConfig))
		share(s.Host+"/team/cartridges", "--plain-http")
	}

	code, _, stderr = runCLI(t, withStore(storeA, "deps", "train", "--shard", "3/2")...)
	if code == 0 || !strings.Contains(stderr, "--shard") {
		t.Errorf("a bad --shard: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, withStore(storeA, "deps", "push")...)
	if code == 0 || !strings.Contains(stderr, "--registry") {
		t.Errorf("push without a registry: exit %d\n%s", code, stderr)
	}
}

func TestShard(t *testing.T) {
	var ds []deps.Dependency
	for i := 0; i < 11; i++ {
		ds = append(ds, deps.Dependency{Ecosystem: deps.Go, Name: fmt.Sprintf("example.com/m%d", (i*7)%11), Version: "v1.0.0"})
	}
	seen := map[string]int{}
	for i := 1; i <= 4; i++ {
		part := shard(ds, i, 4)
		if len(part) < 2 || len(part) > 3 {
			t.Errorf("shard %d/4 has %d of 11", i, len(part))
		}
		for _, d := range part {
			seen[d.ID()]++
		}
		again := shard(append(ds[5:], ds[:5]...), i, 4) // the order given does not matter
		if fmt.Sprint(again) != fmt.Sprint(part) {
			t.Errorf("shard %d/4 depends on the input order", i)
		}
	}
	if len(seen) != 11 {
		t.Errorf("the shards cover %d of 11", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s is in %d shards", id, n)
		}
	}
	for _, c := range []struct {
		in      string
		i, n    int
		wantErr bool
	}{{"", 1, 1, false}, {"1/1", 1, 1, false}, {"2/4", 2, 4, false}, {"0/4", 0, 0, true}, {"5/4", 0, 0, true}, {"x", 0, 0, true}, {"1/0", 0, 0, true}} {
		i, n, err := parseShard(c.in)
		if (err != nil) != c.wantErr || i != c.i || n != c.n {
			t.Errorf("%q: %d/%d %v", c.in, i, n, err)
		}
	}
}

// TestCLIAskDeps: ask --dep composes a dependency's Cartridge from the store
// (as deps train keyed it for the budget) before the repository's, within
// --dep-tokens; the repository's Cartridge is the one trained beside the
// dependency when the store has it (as the server trains it), else the one
// trained alone, and ask says which.
func TestCLIAskDeps(t *testing.T) {
	dir := t.TempDir()
	repo := depsRepo(t, dir)
	g := &gittest.Repo{T: t, Dir: repo}
	g.Git("-c", "init.defaultBranch=main", "init", "-q")
	g.Git("add", "-A")
	g.Git("commit", "-qm", "app")
	modelPath := writeChatModel(t, dir)
	st := filepath.Join(dir, "store")
	common := []string{"--repo", repo, "--model", modelPath, "--threads", "1", "--budget", "tiny", "--store", st}
	if code, stdout, stderr := runCLI(t, append([]string{"deps", "train", "--quiet", "example.com/used"}, common...)...); code != 0 {
		t.Fatalf("deps train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	ask := func(args ...string) (int, string, string) {
		return runCLI(t, append(append(append([]string{"ask", "-n", "2"}, args...), common...), "What does Value1 return?")...)
	}
	if code, stdout, stderr := ask("--dep", "example.com/used", "--stats"); code != 0 || !strings.Contains(stderr, "prompt tokens") ||
		!strings.Contains(stderr, "the store has no Cartridge of") {
		t.Fatalf("ask --dep before the repository is trained: exit %d\n%s\n%s", code, stdout, stderr)
	}
	train := func(args ...string) {
		t.Helper()
		if code, stdout, stderr := runCLI(t, append(append([]string{"train", "--quiet"}, args...), "--model", modelPath, "--threads", "1", "--budget", "tiny", "--store", st, repo)...); code != 0 {
			t.Fatalf("train %v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
	}
	train()
	if code, stdout, stderr := ask("--dep", "example.com/used"); code != 0 || !strings.Contains(stderr, "trained alone, not beside") {
		t.Errorf("ask --dep with the repository trained alone: exit %d\n%s\n%s", code, stdout, stderr)
	}
	train("--beside", depsLsJSON(t, common...)[0].Store)
	if code, stdout, stderr := ask("--dep", "example.com/used"); code != 0 || !strings.Contains(stderr, "trained beside 1 of the --dep Cartridges") {
		t.Errorf("ask --dep with the repository trained beside it: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := ask(); code != 0 || !strings.Contains(stderr, "Cartridge of HEAD") || strings.Contains(stderr, "beside") {
		t.Errorf("ask without --dep: exit %d, want the Cartridge trained alone\n%s\n%s", code, stdout, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dep", "example.com/used", "--dep-tokens", "1"}, "--dep-tokens 1"},
		{[]string{"--dep", "example.com/unused"}, "deps train example.com/unused@v0.1.0"},
		{[]string{"--dep", "example.com/absent"}, "does not depend on"},
	} {
		code, _, stderr := ask(c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("ask %v: exit %d, want an error saying %q\n%s", c.args, code, c.want, stderr)
		}
	}
}
