package main

import (
	"flag"
	"fmt"

	"github.com/cartlsp/cartlsp/runtime/backend"
	"github.com/cartlsp/cartlsp/runtime/gguf"
	"github.com/cartlsp/cartlsp/runtime/model"
	"github.com/cartlsp/cartlsp/runtime/modelfile"
	"github.com/cartlsp/cartlsp/runtime/tokenizer"
)

// modelFlags are the flags every model-using command shares.
type modelFlags struct {
	path    string
	threads int
}

func (mf *modelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&mf.path, "model", "", "model: a GGUF file, or the name of a pulled model (see cartlsp model ls); default: $CARTLSP_MODEL, else the pulled default model ("+modelfile.Default.Name+")")
	fs.IntVar(&mf.threads, "threads", modelfile.DefaultThreads(), "compute threads")
}

// loaded is a model ready to run, with what must be closed after use.
type loaded struct {
	m    *model.Model
	tok  *tokenizer.Tokenizer
	file *gguf.File
	be   backend.Backend
	path string
}

func (l *loaded) Close() {
	l.be.Close()
	l.file.Close()
}

func (mf *modelFlags) load() (*loaded, error) {
	if mf.threads < 1 {
		return nil, fmt.Errorf("--threads must be at least 1")
	}
	l, err := modelfile.Load(mf.path, modelfile.DeviceCPU, mf.threads)
	if err != nil {
		return nil, err
	}
	return &loaded{m: l.Model, tok: l.Tokenizer, file: l.File, be: l.Backend, path: l.Path}, nil
}
