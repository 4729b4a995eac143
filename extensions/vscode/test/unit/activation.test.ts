// Loads the compiled extension with a stand-in for the vscode module (VS Code
// cannot run here) and checks the wiring of activation: commands, the chat
// participant (only when vscode.chat exists), the status bar item, and the
// fix-it message when the binary is missing.
import * as assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { fakeContext, loadExtension, makeFake, unloadFake } from '../support/fakeVscode';

afterEach(() => unloadFake());

test('activation registers the commands and @cartridge; a wrong serverPath says how to fix it', async () => {
  const fake = makeFake({ serverPath: '/nonexistent/cartlsp' }, { chat: true });
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
    const fake = makeFake({}, { chat: false });
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
