// Finding the cartlsp binary: the setting cartlsp.serverPath, else the binary
// bundled in the platform-specific extension (bin/<target>/cartlsp), else
// cartlsp on PATH, else where `go install` puts it. No vscode import: unit-tested
// with node --test.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** The command that installs cartlsp, for messages. */
export const INSTALL_COMMAND = 'go install github.com/cartlsp/cartlsp/cmd/cartlsp@latest';

export interface ResolveInput {
  /** cartlsp.serverPath; empty or blank: not set. */
  setting?: string;
  /** The extension's install directory (context.extensionPath). */
  extensionPath: string;
  /** process.platform and process.arch. */
  platform: string;
  arch: string;
  /** The environment: PATH (Path on Windows), PATHEXT, GOBIN, GOPATH. */
  env: Record<string, string | undefined>;
  /** The home directory, for ~ and ~/go/bin. */
  home?: string;
  /** The first workspace folder, for ${workspaceFolder} and relative settings. */
  workspaceFolder?: string;
  /** Whether path is an executable file (tests replace it). */
  isExecutable?: (p: string) => boolean;
}

export type Resolution =
  | { ok: true; path: string; source: 'setting' | 'bundled' | 'path' | 'go' }
  | { ok: false; message: string; tried: string[] };

/** The vsce target for a platform and architecture: linux-x64, darwin-arm64, win32-x64… */
export function targetOf(platform: string, arch: string): string {
  return `${platform}-${arch}`;
}

/** The binary's file name on a platform. */
export function binaryName(platform: string): string {
  return platform === 'win32' ? 'cartlsp.exe' : 'cartlsp';
}

/** Where the platform package bundles the binary, relative to the extension. */
export function bundledRelativePath(platform: string, arch: string): string {
  return path.posix.join('bin', targetOf(platform, arch), binaryName(platform));
}

/** Whether p is a regular file that the current user may execute. */
export function defaultIsExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Gives the bundled binary its executable bit when the package lost it (a .vsix
 * is a zip file); returns its path when it changed it.
 */
export function repairBundledMode(extensionPath: string, platform: string, arch: string): string | undefined {
  if (platform === 'win32') {
    return undefined;
  }
  const p = path.join(extensionPath, ...bundledRelativePath(platform, arch).split('/'));
  try {
    const st = fs.statSync(p);
    if (!st.isFile() || (st.mode & 0o111) === 0o111) {
      return undefined;
    }
    fs.chmodSync(p, st.mode | 0o755);
    return p;
  } catch {
    return undefined;
  }
}

/** Expands ~ and ${workspaceFolder} / ${userHome} / ${env:NAME} in a setting. */
export function expandSetting(value: string, input: Pick<ResolveInput, 'home' | 'workspaceFolder' | 'env'>): string {
  let v = value.trim();
  v = v.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (m, name: string, envName?: string) => {
    if (name === 'workspaceFolder') {
      return input.workspaceFolder ?? m;
    }
    if (name === 'userHome') {
      return input.home ?? m;
    }
    return input.env[envName ?? ''] ?? '';
  });
  if (input.home && (v === '~' || v.startsWith('~/') || v.startsWith('~\\'))) {
    v = path.join(input.home, v.slice(1));
  }
  if (!path.isAbsolute(v) && input.workspaceFolder && (v.includes('/') || v.includes('\\'))) {
    v = path.join(input.workspaceFolder, v);
  }
  return v;
}

function pathDirs(input: ResolveInput): string[] {
  const raw = input.env.PATH ?? input.env.Path ?? '';
  const sep = input.platform === 'win32' ? ';' : ':';
  return raw.split(sep).filter((d) => d.trim() !== '');
}

function exeNames(input: ResolveInput, base: string): string[] {
  if (input.platform !== 'win32') {
    return [base];
  }
  const exts = (input.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean);
  return [base, ...exts.map((e) => base + e.toLowerCase())];
}

function join(input: ResolveInput, ...parts: string[]): string {
  return input.platform === 'win32' ? path.win32.join(...parts) : path.posix.join(...parts);
}

/** Finds the cartlsp binary, or says exactly how to get one. */
export function resolveServerPath(input: ResolveInput): Resolution {
  const isExec = input.isExecutable ?? defaultIsExecutable;
  const tried: string[] = [];
  const setting = (input.setting ?? '').trim();
  if (setting !== '') {
    const expanded = expandSetting(setting, input);
    // A bare name ("cartlsp") is looked up on PATH.
    const bare = !expanded.includes('/') && !expanded.includes('\\');
    const candidates = bare ? pathDirs(input).flatMap((d) => exeNames(input, expanded).map((n) => join(input, d, n))) : [expanded];
    for (const c of candidates) {
      if (isExec(c)) {
        return { ok: true, path: c, source: 'setting' };
      }
    }
    return {
      ok: false,
      tried: candidates,
      message:
        `cartlsp.serverPath is "${setting}", but ${bare ? 'no executable of that name is on PATH' : `${expanded} is not an executable file`}: ` +
        'fix the setting, or clear it to use the bundled binary or cartlsp on PATH ' +
        `(install it with \`${INSTALL_COMMAND}\`, or \`make build\` in a cartlsp checkout for bin/cartlsp).`,
    };
  }

  const bundled = join(input, input.extensionPath, ...bundledRelativePath(input.platform, input.arch).split('/'));
  tried.push(bundled);
  if (isExec(bundled)) {
    return { ok: true, path: bundled, source: 'bundled' };
  }
  for (const dir of pathDirs(input)) {
    for (const name of exeNames(input, 'cartlsp')) {
      const c = join(input, dir, name);
      tried.push(c);
      if (isExec(c)) {
        return { ok: true, path: c, source: 'path' };
      }
    }
  }
  // `go install` puts it in $GOBIN, else the first $GOPATH's bin, else ~/go/bin,
  // which an editor started from a desktop launcher often lacks on its PATH.
  const goDirs: string[] = [];
  if (input.env.GOBIN) {
    goDirs.push(input.env.GOBIN);
  }
  if (input.env.GOPATH) {
    const first = input.env.GOPATH.split(input.platform === 'win32' ? ';' : ':')[0];
    if (first) {
      goDirs.push(join(input, first, 'bin'));
    }
  }
  if (input.home) {
    goDirs.push(join(input, input.home, 'go', 'bin'));
  }
  for (const dir of goDirs) {
    const c = join(input, dir, binaryName(input.platform));
    if (tried.includes(c)) {
      continue;
    }
    tried.push(c);
    if (isExec(c)) {
      return { ok: true, path: c, source: 'go' };
    }
  }
  return { ok: false, tried, message: notFoundMessage(input) };
}

/** The message when no binary was found anywhere. */
export function notFoundMessage(input: Pick<ResolveInput, 'platform' | 'arch'>): string {
  return (
    'cartlsp was not found: set cartlsp.serverPath to the cartlsp binary, or install it with ' +
    `\`${INSTALL_COMMAND}\` (into ~/go/bin; put it on PATH) or \`make build\` in a cartlsp checkout (bin/cartlsp). ` +
    `This extension has no bundled binary for ${targetOf(input.platform, input.arch)}.`
  );
}
