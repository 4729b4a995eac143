import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { INSTALL_COMMAND, bundledRelativePath, expandSetting, repairBundledMode, resolveServerPath, targetOf } from '../../src/serverPath';

const linux = { extensionPath: '/ext', platform: 'linux', arch: 'x64', home: '/home/u', workspaceFolder: '/work/repo' };

function only(...paths: string[]): (p: string) => boolean {
  return (p) => paths.includes(p);
}

test('the setting wins, with ~ and ${workspaceFolder} expanded', () => {
  const exec = only('/home/u/bin/cartlsp', '/ext/bin/linux-x64/cartlsp', '/work/repo/bin/cartlsp');
  assert.deepEqual(resolveServerPath({ ...linux, setting: '~/bin/cartlsp', env: {}, isExecutable: exec }), { ok: true, path: '/home/u/bin/cartlsp', source: 'setting' });
  assert.deepEqual(resolveServerPath({ ...linux, setting: '${workspaceFolder}/bin/cartlsp', env: {}, isExecutable: exec }), { ok: true, path: '/work/repo/bin/cartlsp', source: 'setting' });
  // a relative path is taken from the workspace folder
  assert.deepEqual(resolveServerPath({ ...linux, setting: 'bin/cartlsp', env: {}, isExecutable: exec }), { ok: true, path: '/work/repo/bin/cartlsp', source: 'setting' });
});

test('a bare name in the setting is looked up on PATH', () => {
  const r = resolveServerPath({ ...linux, setting: 'cartlsp-dev', env: { PATH: '/usr/bin:/opt/x' }, isExecutable: only('/opt/x/cartlsp-dev') });
  assert.deepEqual(r, { ok: true, path: '/opt/x/cartlsp-dev', source: 'setting' });
});

test('a setting that names no executable says how to fix it, without falling back', () => {
  const r = resolveServerPath({ ...linux, setting: '/nope/cartlsp', env: { PATH: '/usr/bin' }, isExecutable: only('/usr/bin/cartlsp', '/ext/bin/linux-x64/cartlsp') });
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.message.includes('cartlsp.serverPath is "/nope/cartlsp"'), r.ok ? '' : r.message);
  assert.ok(!r.ok && r.message.includes('/nope/cartlsp is not an executable file'));
  assert.ok(!r.ok && r.message.includes(INSTALL_COMMAND));
});

test('without a setting: the bundled binary, then PATH, then go install places', () => {
  const env = { PATH: '/usr/local/bin:/usr/bin', GOPATH: '/gp:/other' };
  assert.deepEqual(resolveServerPath({ ...linux, env, isExecutable: only('/ext/bin/linux-x64/cartlsp', '/usr/bin/cartlsp') }), {
    ok: true,
    path: '/ext/bin/linux-x64/cartlsp',
    source: 'bundled',
  });
  assert.deepEqual(resolveServerPath({ ...linux, env, isExecutable: only('/usr/bin/cartlsp', '/home/u/go/bin/cartlsp') }), { ok: true, path: '/usr/bin/cartlsp', source: 'path' });
  assert.deepEqual(resolveServerPath({ ...linux, env, isExecutable: only('/gp/bin/cartlsp', '/home/u/go/bin/cartlsp') }), { ok: true, path: '/gp/bin/cartlsp', source: 'go' });
  assert.deepEqual(resolveServerPath({ ...linux, env: { GOBIN: '/gb' }, isExecutable: only('/gb/cartlsp') }), { ok: true, path: '/gb/cartlsp', source: 'go' });
  assert.deepEqual(resolveServerPath({ ...linux, env: {}, isExecutable: only('/home/u/go/bin/cartlsp') }), { ok: true, path: '/home/u/go/bin/cartlsp', source: 'go' });
});

test('nothing found: the message says how to install it and what was tried', () => {
  const r = resolveServerPath({ ...linux, env: { PATH: '/usr/bin' }, isExecutable: () => false });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.match(r.message, /^cartlsp was not found: set cartlsp\.serverPath/);
    assert.ok(r.message.includes('go install github.com/cartlsp/cartlsp/cmd/cartlsp@latest'));
    assert.ok(r.message.includes('make build'));
    assert.ok(r.message.includes('linux-x64'));
    assert.deepEqual(r.tried, ['/ext/bin/linux-x64/cartlsp', '/usr/bin/cartlsp', '/home/u/go/bin/cartlsp']);
  }
});

test('Windows: cartlsp.exe and PATHEXT', () => {
  const r = resolveServerPath({
    extensionPath: 'C:\\ext',
    platform: 'win32',
    arch: 'x64',
    env: { Path: 'C:\\tools;C:\\go\\bin', PATHEXT: '.COM;.EXE' },
    isExecutable: only('C:\\go\\bin\\cartlsp.exe'),
  });
  assert.deepEqual(r, { ok: true, path: 'C:\\go\\bin\\cartlsp.exe', source: 'path' });
  assert.equal(bundledRelativePath('win32', 'arm64'), 'bin/win32-arm64/cartlsp.exe');
});

test('targets are vsce targets', () => {
  assert.equal(targetOf('linux', 'x64'), 'linux-x64');
  assert.equal(targetOf('darwin', 'arm64'), 'darwin-arm64');
  assert.equal(bundledRelativePath('linux', 'x64'), 'bin/linux-x64/cartlsp');
});

test('expandSetting: ${env:NAME} and ${userHome}', () => {
  assert.equal(expandSetting('${env:CART}/cartlsp', { env: { CART: '/c' } }), '/c/cartlsp');
  assert.equal(expandSetting(' ${userHome}/x ', { env: {}, home: '/h' }), '/h/x');
});

test('the real file system: an executable file is found, a missing mode bit is repaired', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cartlsp-resolve-'));
  try {
    const bin = path.join(dir, 'bin', 'linux-x64');
    fs.mkdirSync(bin, { recursive: true });
    const exe = path.join(bin, 'cartlsp');
    fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o644 });
    if (process.platform !== 'win32') {
      assert.equal(resolveServerPath({ extensionPath: dir, platform: 'linux', arch: 'x64', env: {} }).ok, false);
      assert.equal(repairBundledMode(dir, 'linux', 'x64'), exe);
      assert.equal(repairBundledMode(dir, 'linux', 'x64'), undefined);
      assert.deepEqual(resolveServerPath({ extensionPath: dir, platform: 'linux', arch: 'x64', env: {} }), { ok: true, path: exe, source: 'bundled' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
