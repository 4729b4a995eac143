package modelfile

import (
	"fmt"
	"runtime"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/backend/cpu"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// Devices a model can run on.
const (
	DeviceAuto = "auto" // the best one this build and machine have
	DeviceCPU  = "cpu"
)

// DefaultThreads is the compute threads used unless told otherwise.
func DefaultThreads() int { return min(runtime.NumCPU(), 8) }

// Loaded is a model file opened and ready to run.
type Loaded struct {
	Path      string
	File      *gguf.File
	Tokenizer *tokenizer.Tokenizer
	Model     *model.Model
	Backend   backend.Backend
	Device    string // the device it runs on
}

// Close releases the backend's workers and unmaps the file; the model must
// not be used afterwards.
func (l *Loaded) Close() {
	l.Backend.Close()
	l.File.Close()
}

// CheckDevice validates a device name and says which device it means:
// "auto" and "cpu" are the CPU, the only device cartlsp runs models on.
func CheckDevice(device string) (string, error) {
	switch device {
	case "", DeviceAuto, DeviceCPU:
		return DeviceCPU, nil
	}
	return "", fmt.Errorf("device %q is not available: cartlsp runs models on the CPU; use device \"auto\" or \"cpu\"", device)
}

// Load opens the model at path (resolved like Resolve: a file or a catalog
// name; "" is $CARTLSP_MODEL or the pulled default) on device with threads compute threads (≤ 0:
// DefaultThreads).
func Load(path, device string, threads int) (*Loaded, error) {
	dev, err := CheckDevice(device)
	if err != nil {
		return nil, err
	}
	if threads <= 0 {
		threads = DefaultThreads()
	}
	path, err = Resolve(path)
	if err != nil {
		return nil, err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	be := cpu.NewBackend(threads)
	m, err := model.New(f, be)
	if err != nil {
		be.Close()
		f.Close()
		return nil, err
	}
	return &Loaded{Path: path, File: f, Tokenizer: tok, Model: m, Backend: be, Device: dev}, nil
}
