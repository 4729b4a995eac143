// What the integration tests share: the cartlsp binary and model they need,
// and a small git repository to serve.

import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const extRoot = path.resolve(__dirname, '..', '..', '..');
export const skip = process.env.CARTLSP_SKIP_VSCODE_INTEGRATION === '1';
export const bin = path.resolve(extRoot, process.env.CARTLSP_BIN || path.join('..', '..', 'bin', 'cartlsp'));
export const TIMEOUT = 5 * 60_000;

/** The model file: $CARTLSP_MODEL, else where `cartlsp model pull` puts it. */
export function modelPath(): string {
  if (process.env.CARTLSP_MODEL) {
    return process.env.CARTLSP_MODEL;
  }
  try {
    return cp.execFileSync(bin, ['model', 'path'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export function requirements(): string | undefined {
  if (!fs.existsSync(bin)) {
    return (
      `the cartlsp binary ${bin} does not exist: build it with \`make build\` at the repository root ` +
      '(or set CARTLSP_BIN), or set CARTLSP_SKIP_VSCODE_INTEGRATION=1 to skip this test'
    );
  }
  const model = modelPath();
  if (!model || !fs.existsSync(model)) {
    return (
      `the model ${model || '(unknown)'} does not exist: fetch it with \`${bin} model pull\` (or \`make model\`), ` +
      'or set CARTLSP_MODEL to a GGUF file, or set CARTLSP_SKIP_VSCODE_INTEGRATION=1 to skip this test'
    );
  }
  return undefined;
}

export function git(cwd: string, ...args: string[]): string {
  return cp.execFileSync('git', ['-c', 'user.name=cartlsp test', '-c', 'user.email=test@cartlsp.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });
}

/** A small Go repository with one commit. */
export function makeRepo(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(dir, 'go.mod'), 'module example.com/greet\n\ngo 1.22\n');
  fs.writeFileSync(
    path.join(dir, 'greet.go'),
    `// Package greet says hello.
package greet

import "strings"

// Hello returns a greeting for name, in upper case when loud is true.
func Hello(name string, loud bool) string {
	s := "Hello, " + name + "!"
	if loud {
		return strings.ToUpper(s)
	}
	return s
}
`,
  );
  fs.writeFileSync(
    path.join(dir, 'count.go'),
    `package greet

// Count returns how many times Hello was asked for each name.
type Count map[string]int

// Add records one greeting for name and returns the new total.
func (c Count) Add(name string) int {
	c[name]++
	return c[name]
}
`,
  );
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'greet: Hello and Count');
}

