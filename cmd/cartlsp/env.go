package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
)

// envVar is an environment variable cartlsp (or a tool it runs) reads.
type envVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	Set   bool   `json:"set"`
	Does  string `json:"does"`
}

// envVars are every environment variable cartlsp reads, and those of the
// tools it drives that change what it does.
var envVars = []envVar{
	{Name: "CARTLSP_MODEL", Does: "the model every command uses without --model: a name (cartlsp model ls) or a GGUF file"},
	{Name: "CARTLSP_CONFIG", Does: "the user's configuration file (default <user config>/cartlsp/config.toml; cartlsp config)"},
	{Name: "CARTLSP_MODEL_DIR", Does: "the model cache (default <user cache>/cartlsp/models)"},
	{Name: "CARTLSP_STORE", Does: "the Cartridge store (default <user cache>/cartlsp/store)"},
	{Name: registryEnv, Does: "deps: where dependency Cartridges are shared (HOST/REPOSITORY, dir:PATH, https://URL)"},
	{Name: signKeyEnv, Does: "deps push: the private key that signs what is pushed"},
	{Name: verifyKeyEnv, Does: "deps pull: the public key pulled Cartridges must be signed by"},
	{Name: "COSIGN_PASSWORD", Does: "the password of a cosign-encrypted signing key"},
	{Name: "DOCKER_CONFIG", Does: "the docker configuration directory whose credentials registries are used with (default ~/.docker)"},
	{Name: "SSL_CERT_FILE", Does: "extra trusted certificates for registries and static stores (also SSL_CERT_DIR)"},
	{Name: "CARTLSP_SKIP_HOOK", Does: "1: the git hooks skip their training for this git command"},
	{Name: "HF_ENDPOINT", Does: "model pull --from hf: the Hugging Face endpoint"},
	{Name: "HF_TOKEN", Does: "model pull --from hf: the Hugging Face token"},
	{Name: "XDG_CONFIG_HOME", Does: "the user configuration directory the user's config.toml is in (Linux)"},
	{Name: "XDG_CACHE_HOME", Does: "the user cache directory the model cache and store default to (Linux)"},
	{Name: "GOGC", Does: "the Go garbage collector's target (cartlsp sets 25 unless given)"},
	{Name: "CARTLSP_NOASM", Does: "1: the CPU kernels run in plain Go (for comparisons)"},
	{Name: "CARTLSP_KERNELS", Does: "avx2 or generic: the CPU kernels use no more than that level (to measure a CPU without AVX-512 on one with it)"},
	{Name: "CARTLSP_NOAMX", Does: "1: the AMX tile kernels are not used on CPUs that have them"},
	{Name: "CARTLSP_EXACT_ATTENTION", Does: "1: attention in float64 (for parity checks)"},
}

func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("env", "env [--json]", stderr)
	asJSON := fs.Bool("json", false, "print one JSON array")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return errUsage
	}
	vars := make([]envVar, len(envVars))
	for i, v := range envVars {
		v.Value, v.Set = os.LookupEnv(v.Name)
		if v.Name == "HF_TOKEN" || v.Name == "COSIGN_PASSWORD" {
			if v.Value != "" {
				v.Value = "(set, hidden)"
			}
		}
		vars[i] = v
	}
	if *asJSON {
		return printJSON(stdout, vars)
	}
	tw := tabwriter.NewWriter(termSafe(stdout), 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "NAME\tVALUE\tWHAT IT DOES\n")
	for _, v := range vars {
		val := v.Value
		if !v.Set {
			val = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, val, v.Does)
	}
	return tw.Flush()
}
