// Loads the compiled extension with a stand-in for the vscode module (VS Code
// cannot run here) and checks the wiring of activation: commands, the chat
// participant (only when vscode.chat exists), the status bar item, and the
// fix-it message when the binary is missing.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, test } from 'node:test';

import { fakeContext, loadExtension, makeFake, unloadFake } from '../support/fakeVscode';

afterEach(() => unloadFake());

/** A directory holding a .git directory and a subfolder (a monorepo's package), for the workspace. */
function gitDir(): { root: string; sub: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cartlsp-act-'));
  fs.mkdirSync(path.join(root, '.git'));
  const sub = path.join(root, 'packages', 'web');
  fs.mkdirSync(sub, { recursive: true });
  return { root, sub };
}

test('activation registers the commands and @cartridge; a wrong serverPath says how to fix it', async () => {
  const fake = makeFake({ serverPath: '/nonexistent/cartlsp' }, { chat: true, workspaceFolder: gitDir().root });
  const ext = loadExtension(fake);
  const ctx = fakeContext();
  await ext.activate(ctx);
  assert.deepEqual([...fake.commands.keys()].sort(), ['cartlsp.askRepository', 'cartlsp.askSelection', 'cartlsp.openLogs', 'cartlsp.pullDependencies', 'cartlsp.restartServer', 'cartlsp.showStatus', 'cartlsp.toggleCompletions', 'cartlsp.trainNow']);
  assert.deepEqual([...fake.participants.keys()], ['cartlsp.cartridge']);
  assert.equal(fake.errors.length, 1);
  assert.match(fake.errors[0], /^cartlsp\.serverPath is "\/nonexistent\/cartlsp", but \/nonexistent\/cartlsp is not an executable file/);
  assert.equal(fake.statusTexts.at(-1), '$(circle-slash) cart');
  await ext.deactivate();
  for (const d of ctx.subscriptions) {
    d.dispose();
  }
});

test('without vscode.chat and without any binary: no participant, the install message', async () => {
  const saved = { PATH: process.env.PATH, HOME: process.env.HOME, GOBIN: process.env.GOBIN, GOPATH: process.env.GOPATH };
  process.env.PATH = '/nonexistent-dir';
  process.env.HOME = '/nonexistent-home';
  delete process.env.GOBIN;
  delete process.env.GOPATH;
  try {
    const fake = makeFake({}, { chat: false, workspaceFolder: gitDir().sub });
    const ext = loadExtension(fake);
    await ext.activate(fakeContext());
    assert.deepEqual([...fake.participants.keys()], []);
    assert.equal(fake.errors.length, 1);
    assert.match(fake.errors[0], /^cartlsp was not found: set cartlsp\.serverPath.*go install github\.com\/cartlsp\/cartlsp\/cmd\/cartlsp@latest.*make build/);
    await ext.deactivate();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) {
        delete process.env[k];
      } else {
        process.env[k] = v;
      }
    }
  }
});

test('a workspace that is not trusted starts nothing until trust is granted', async () => {
  const fake = makeFake({ serverPath: '/nonexistent/cartlsp' }, { workspaceFolder: gitDir().root, trusted: false });
  const ext = loadExtension(fake);
  await ext.activate(fakeContext());
  assert.equal(fake.errors.length, 0, 'the server was looked for in an untrusted workspace');
  assert.match(fake.statusTexts.at(-1) ?? '', /circle-slash/);
  await fake.commands.get('cartlsp.restartServer')?.();
  assert.match(fake.errors.at(-1) ?? '', /only in a trusted workspace/);
  fake.grantTrust();
  await new Promise((r) => setTimeout(r, 50));
  assert.match(fake.errors.at(-1) ?? '', /cartlsp\.serverPath is "\/nonexistent\/cartlsp"/, 'trust granted: the server starts (and says its path is wrong)');
  await ext.deactivate();
});

test('a workspace with no git repository starts the server only on a command', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cartlsp-nogit-'));
  const fake = makeFake({ serverPath: '/nonexistent/cartlsp' }, { workspaceFolder: dir });
  const ext = loadExtension(fake);
  await ext.activate(fakeContext());
  assert.equal(fake.errors.length, 0);
  await fake.commands.get('cartlsp.restartServer')?.();
  assert.match(fake.errors.at(-1) ?? '', /cartlsp\.serverPath is "\/nonexistent\/cartlsp"/);
  await ext.deactivate();
});

test('gitRoot finds the repository above a monorepo subfolder', () => {
  const fake = makeFake({});
  const ext = loadExtension(fake) as unknown as { gitRoot(d: string): string | undefined };
  const { root, sub } = gitDir();
  assert.equal(ext.gitRoot(sub), root);
  assert.equal(ext.gitRoot(fs.mkdtempSync(path.join(os.tmpdir(), 'cartlsp-nogit-'))), undefined);
});
