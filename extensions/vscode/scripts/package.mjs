#!/usr/bin/env node
// Builds a platform-specific .vsix that bundles the cartlsp binary:
//
//   node scripts/package.mjs [--target linux-x64] [--binary ../../bin/cartlsp] [--out PATH.vsix]
//
// The binary is copied to bin/<target>/cartlsp (cartlsp.exe for win32-*), where
// the extension looks for it (src/serverPath.ts), after checking that it is an
// executable for that target; then `vsce package --target <target>` packs the
// compiled extension with its production dependencies (vscode-languageclient).
// Paths are relative to the current directory; the .vsix goes to
// extensions/vscode/cartlsp-<target>-<version>.vsix unless --out says otherwise.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const targets = ['linux-x64', 'linux-arm64', 'linux-armhf', 'alpine-x64', 'alpine-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];

function fail(msg) {
  console.error(`package: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { target: 'linux-x64', binary: path.join('..', '..', 'bin', 'cartlsp'), out: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.includes('=') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${name} needs a value`);
    switch (name) {
      case '--target':
        opts.target = value();
        break;
      case '--binary':
        opts.binary = value();
        break;
      case '--out':
        opts.out = value();
        break;
      case '-h':
      case '--help':
        console.log('usage: node scripts/package.mjs [--target linux-x64] [--binary ../../bin/cartlsp] [--out PATH.vsix]');
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${a}`);
    }
  }
  return opts;
}

/** Checks the executable's header against the target: ELF/Mach-O/PE and the machine. */
function checkBinary(file, target) {
  const [os, arch] = target.split('-');
  const fd = fs.openSync(file, 'r');
  const h = Buffer.alloc(64);
  fs.readSync(fd, h, 0, 64, 0);
  fs.closeSync(fd);
  if (os === 'linux' || os === 'alpine') {
    if (h.readUInt32BE(0) !== 0x7f454c46) {
      fail(`${file} is not an ELF executable, so not for ${target}`);
    }
    const machine = h.readUInt16LE(18);
    const want = { x64: 62, arm64: 183, armhf: 40 }[arch];
    if (want !== undefined && machine !== want) {
      fail(`${file} is an ELF executable for machine ${machine}, not ${target} (${want}): build it with GOOS=linux GOARCH=${{ x64: 'amd64', arm64: 'arm64', armhf: 'arm' }[arch]}`);
    }
  } else if (os === 'darwin') {
    const magic = h.readUInt32LE(0);
    if (magic !== 0xfeedfacf && magic !== 0xbebafeca) {
      fail(`${file} is not a Mach-O executable, so not for ${target}`);
    }
  } else if (os === 'win32') {
    if (h.toString('latin1', 0, 2) !== 'MZ') {
      fail(`${file} is not a Windows executable, so not for ${target}`);
    }
  }
}

const opts = parseArgs(process.argv.slice(2));
if (!targets.includes(opts.target)) {
  fail(`unknown target ${opts.target} (want one of ${targets.join(', ')})`);
}
const binary = path.resolve(opts.binary);
if (!fs.existsSync(binary) || !fs.statSync(binary).isFile()) {
  fail(`no cartlsp binary at ${binary}: build it with \`make build\` at the repository root, or pass --binary PATH`);
}
checkBinary(binary, opts.target);

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.resolve(opts.out || path.join(root, `${pkg.name}-${opts.target}-${pkg.version}.vsix`));

// Only this target's binary goes in the package.
const binDir = path.join(root, 'bin');
fs.rmSync(binDir, { recursive: true, force: true });
const dest = path.join(binDir, opts.target, opts.target.startsWith('win32') ? 'cartlsp.exe' : 'cartlsp');
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.copyFileSync(binary, dest);
fs.chmodSync(dest, 0o755);
console.log(`package: ${path.relative(root, dest)} ← ${binary} (${(fs.statSync(dest).size / 1e6).toFixed(1)} MB)`);

const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
if (!fs.existsSync(vsce)) {
  fail('@vscode/vsce is not installed: run `npm ci` in extensions/vscode');
}
// Relative links in README.md point into the repository on GitHub.
const base = 'https://github.com/cartlsp/cartlsp/blob/HEAD/extensions/vscode';
const args = [vsce, 'package', '--target', opts.target, '--out', out, '--baseContentUrl', base, '--baseImagesUrl', base.replace('/blob/', '/raw/')];
console.log(`package: vsce ${args.slice(1).join(' ')}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  fail(`vsce failed (exit ${r.status ?? r.signal})`);
}
console.log(`package: wrote ${out}`);
