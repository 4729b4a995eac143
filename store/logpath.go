package store

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
)

// LogPath is the log file of background trainings of the repository (or
// directory) at root, under the store directory dir:
// logs/<base name>-<8 hex digits of the absolute path's SHA-256>.log, so
// two checkouts with the same name keep separate logs.
func LogPath(dir, root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Join(dir, "logs", filepath.Base(abs)+"-"+hex.EncodeToString(h[:4])+".log"), nil
}
