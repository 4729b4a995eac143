// The manifest and the wiring agree, and the logic modules stay free of vscode.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const extensionSource = fs.readFileSync(path.join(root, 'src', 'extension.ts'), 'utf8');

test('every contributed command is registered, and none collides with the server commands', () => {
  const ids: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);
  for (const id of ['cartlsp.askRepository', 'cartlsp.askSelection', 'cartlsp.trainNow', 'cartlsp.pullDependencies', 'cartlsp.showStatus', 'cartlsp.openLogs']) {
    assert.ok(ids.includes(id), id);
  }
  for (const id of ids) {
    assert.ok(extensionSource.includes(`'${id}'`), `${id} is not registered in extension.ts`);
    // vscode-languageclient registers the server's executeCommand commands itself
    assert.ok(!['cartlsp.ask', 'cartlsp.train', 'cartlsp.status'].includes(id), id);
  }
});

test('the settings, the chat participant, engines and main', () => {
  const props = Object.keys(pkg.contributes.configuration.properties);
  for (const k of ['serverPath', 'model', 'p', 'budget', 'device', 'dependencies', 'registry', 'registryPlainHttp', 'registryVerifyKey', 'trainBesideDependencies', 'autoTrain', 'trace.server']) {
    assert.ok(props.includes(`cartlsp.${k}`), k);
  }
  assert.deepEqual(pkg.contributes.configuration.properties['cartlsp.budget'].enum, ['tiny', 'small', 'full']);
  assert.deepEqual(pkg.contributes.configuration.properties['cartlsp.device'].enum, ['auto', 'cpu']);
  assert.deepEqual(pkg.contributes.chatParticipants.map((p: { id: string; name: string }) => [p.id, p.name]), [['cartlsp.cartridge', 'cartridge']]);
  assert.ok(extensionSource.includes("createChatParticipant('cartlsp.cartridge'"));
  assert.equal(pkg.engines.vscode, '^1.91.0');
  assert.equal(pkg.main, './out/src/extension.js');
  assert.ok(fs.existsSync(path.join(root, pkg.main)), 'compiled main');
  assert.match(pkg.dependencies['vscode-languageclient'], /^11\./);
  for (const [name, v] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    assert.match(String(v), /^\d+\.\d+\.\d+$/, `${name} is pinned`);
  }
});

test('only extension.js requires vscode', () => {
  const dir = path.join(root, 'out', 'src');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    const uses = /require\("vscode"\)/.test(fs.readFileSync(path.join(dir, f), 'utf8'));
    assert.equal(uses, f === 'extension.js', f);
  }
});
