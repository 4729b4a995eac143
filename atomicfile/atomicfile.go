// Package atomicfile replaces files on disk so that a reader, or a crash,
// sees either the old file or the new one, never a part: the new content is
// written to a temporary file in the same directory, fsynced, renamed over
// the destination, and the directory is fsynced so the rename itself
// survives a crash. Every file cartlsp rewrites in place (Cartridges, the
// store's meta.json, checkpoints, loss logs, model files, git hooks) goes
// through Write or WriteFile.
package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// TempSuffix ends the name of every temporary file Write creates (they are
// named ".<base>.<random>.tmp" next to the destination), so a directory's
// owner can remove what an interrupted write left behind.
const TempSuffix = ".tmp"

// Write replaces path with what write produces, with permission bits mode
// (set explicitly, so the umask does not apply). write gets a buffered
// writer to a temporary file in path's directory; when write or any step
// after it fails, the temporary file is removed, path is untouched (the old
// file or none) and the error is returned: write's own, or the file
// system's (an *fs.PathError or *os.LinkError, which names the file), for the
// caller to wrap.
func Write(path string, mode fs.FileMode, write func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*"+TempSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil && runtime.GOOS != "windows" {
		return err // Windows keeps only a read-only bit
	}
	if err := f.Sync(); err != nil {
		return err
	}
	closed = true
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir) // on error path holds the new content; only its durability is in doubt
}

// WriteFile replaces path with data, as Write does.
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	return Write(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Rename moves the file at tmp, written by someone else, over path durably:
// it fsyncs tmp, renames it (tmp and path must be in one directory for the
// rename to be atomic) and fsyncs the directory. A missing tmp is an error
// that errors.Is fs.ErrNotExist.
func Rename(tmp, path string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs directory dir so that a rename in it survives a crash.
// Windows cannot open a directory for fsync (and NTFS journals renames), and
// some file systems refuse it; neither is an error.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
