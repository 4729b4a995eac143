package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// TestWriteReplaces writes over a file with each mode the project uses and
// checks the content, the mode, and that no temporary file stays behind.
// While the new content is being written, path must still hold the old
// file whole: the write goes to another file.
func TestWriteReplaces(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode fs.FileMode
		old  bool // a file is at path before
	}{
		{"hook", 0o755, true},
		{"data", 0o644, true},
		{"private", 0o600, true},
		{"new file", 0o755, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			old := []byte("old content\n")
			if tc.old {
				if err := os.WriteFile(path, old, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			next := bytes.Repeat([]byte("new content "), 20000) // several buffer flushes
			err := Write(path, tc.mode, func(w io.Writer) error {
				for i := 0; i < len(next); i += 4096 {
					if _, err := w.Write(next[i:min(i+4096, len(next))]); err != nil {
						return err
					}
					got, err := os.ReadFile(path)
					switch {
					case tc.old && (err != nil || !bytes.Equal(got, old)):
						t.Fatalf("after writing %d bytes, path holds %d bytes (%v), want the old file whole", i, len(got), err)
					case !tc.old && !errors.Is(err, fs.ErrNotExist):
						t.Fatalf("after writing %d bytes, path exists (%d bytes, %v)", i, len(got), err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, next) {
				t.Fatalf("path holds %d bytes (%v), want the %d written", len(got), err, len(next))
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && st.Mode().Perm() != tc.mode {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), tc.mode)
			}
			if names := entries(t, dir); len(names) != 1 || names[0] != "f" {
				t.Errorf("directory holds %q, want only f", names)
			}
		})
	}
}

// TestWriteFailure checks that a failed write leaves path as it was (the old
// file, or none) and removes the temporary file.
func TestWriteFailure(t *testing.T) {
	errWrite := errors.New("disk on fire")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string) // what is at path before
		write func(w io.Writer) error
		want  error                           // errors.Is the returned error; nil: any error
		check func(t *testing.T, path string) // path afterwards
	}{
		{
			name:  "write fails over a file",
			setup: func(t *testing.T, path string) { os.WriteFile(path, []byte("old"), 0o755) },
			write: func(w io.Writer) error { w.Write([]byte("half of the ne")); return errWrite },
			want:  errWrite,
			check: func(t *testing.T, path string) {
				got, err := os.ReadFile(path)
				if err != nil || string(got) != "old" {
					t.Errorf("path holds %q (%v), want the old file", got, err)
				}
				if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o755 {
					t.Errorf("old file's mode changed to %v", st.Mode().Perm())
				}
			},
		},
		{
			name:  "write fails with no file",
			setup: func(t *testing.T, path string) {},
			write: func(w io.Writer) error { w.Write(bytes.Repeat([]byte("x"), 1<<17)); return errWrite },
			want:  errWrite,
			check: func(t *testing.T, path string) {
				if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("path exists after a failed write: %v", err)
				}
			},
		},
		{
			name: "rename fails (path is a directory)",
			setup: func(t *testing.T, path string) {
				os.Mkdir(path, 0o755)
				os.WriteFile(filepath.Join(path, "inside"), []byte("kept"), 0o644)
			},
			write: func(w io.Writer) error { _, err := w.Write([]byte("new")); return err },
			check: func(t *testing.T, path string) {
				got, err := os.ReadFile(filepath.Join(path, "inside"))
				if err != nil || string(got) != "kept" {
					t.Errorf("the directory at path changed: %q, %v", got, err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			tc.setup(t, path)
			err := Write(path, 0o644, tc.write)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Write = %v, want %v", err, tc.want)
			}
			tc.check(t, path)
			for _, name := range entries(t, dir) {
				if strings.HasSuffix(name, TempSuffix) {
					t.Errorf("temporary file %s left behind", name)
				}
			}
		})
	}
}

// TestWriteFile checks the []byte form, in the current directory too (a
// path with no directory part).
func TestWriteFile(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := WriteFile("hook", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("hook")
	if err != nil || string(got) != "#!/bin/sh\n" {
		t.Fatalf("hook = %q, %v", got, err)
	}
	if st, _ := os.Stat("hook"); runtime.GOOS != "windows" && st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	if err := WriteFile(filepath.Join("missing", "hook"), nil, 0o644); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("writing into a missing directory: %v, want an error naming the path", err)
	}
}

// TestRename publishes a file someone else wrote, and refuses a missing one.
func TestRename(t *testing.T) {
	dir := t.TempDir()
	tmp, path := filepath.Join(dir, "f"+TempSuffix), filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rename(tmp, path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Rename of a missing file = %v, want fs.ErrNotExist", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "old" {
		t.Fatalf("a failed Rename changed path: %q, %v", got, err)
	}
	if err := os.WriteFile(tmp, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "new" {
		t.Fatalf("path = %q, %v, want new", got, err)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "f" {
		t.Errorf("directory holds %q, want only f", names)
	}
}
