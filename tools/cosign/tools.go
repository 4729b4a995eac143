//go:build tools

// Package tools pins cosign for `make cosign`.
package tools

import _ "github.com/sigstore/cosign/v2/cmd/cosign"
