// This directory is the VS Code extension (TypeScript); this file keeps it, and
// the Go files some npm packages ship in node_modules, out of the Go module.
module github.com/cartlsp/cartlsp/extensions/vscode

go 1.26.0
