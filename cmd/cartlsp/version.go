package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildInfo is what the binary knows of its build: the module version, the
// commit it was built from (and whether the tree had changes), the Go
// toolchain and the platform.
type buildInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "devel", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// version is the version for people and for serverInfo: the module
// version, else "devel" with the commit ("devel+1a2b3c4d5e6f", "+dirty"
// when built from a changed tree).
func version() string {
	b := readBuildInfo()
	v := b.Version
	if v == "devel" && b.Revision != "" {
		v += "+" + b.Revision[:min(12, len(b.Revision))]
		if b.Modified {
			v += "+dirty"
		}
	}
	return v
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version [--json]", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	b := readBuildInfo()
	if *asJSON {
		return printJSON(stdout, b)
	}
	fmt.Fprintf(stdout, "cartlsp %s", version())
	if b.Time != "" {
		fmt.Fprintf(stdout, " (%s)", b.Time)
	}
	fmt.Fprintf(stdout, ", %s, %s\n", b.Go, b.Platform)
	return nil
}
