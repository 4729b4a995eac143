// The compiled extension, with its real vscode-languageclient, against the real
// `cartlsp serve`: VS Code is replaced by a stand-in (test/support/fakeVscode)
// that records what the extension shows. Activation starts the server from
// cartlsp.serverPath; the status bar follows cartridge/status; "Ask about this
// repository" streams into the answers panel; "Show status" and "Train now"
// run the server's commands; @cartridge streams its answer with
// response.markdown and stops when its token is cancelled; deactivation stops
// the server (here in the middle of a training).
//
// Needs the binary and the model, as serve.test.ts; CARTLSP_SKIP_VSCODE_INTEGRATION=1 skips it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc';

import { fakeContext, loadExtension, makeFake, unloadFake, until } from '../support/fakeVscode';
import { bin, makeRepo, modelPath, requirements, skip } from '../support/repo';

let tmp = '';

after(() => {
  unloadFake();
  if (tmp) {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the extension with the real language client and cartlsp serve', { skip: skip && 'CARTLSP_SKIP_VSCODE_INTEGRATION=1', timeout: 4 * 60_000 }, async () => {
  const missing = requirements();
  assert.equal(missing, undefined, missing);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cartlsp-vscode-ext-'));
  const repo = path.join(tmp, 'repo');
  makeRepo(repo);
  // The server inherits the environment: a fresh store. autoTrain off keeps the
  // CPU free until "Train now".
  process.env.CARTLSP_STORE = path.join(tmp, 'store');
  const fake = makeFake(
    // The user's settings: the extension sends what the server reads (hover.enable too), not serverPath or trace.
    {
      serverPath: bin,
      model: modelPath(),
      budget: 'tiny',
      p: 0,
      device: 'auto',
      dependencies: [],
      autoTrain: false,
      threads: 0,
      completion: { latencyMs: 1500 },
      ask: { maxTokens: 24 },
      hover: { enable: true },
      trace: { server: 'off' },
    },
    { chat: true, workspaceFolder: repo },
  );
  const detail = () => `errors: ${JSON.stringify(fake.errors)}\nstatus: ${JSON.stringify(fake.statusTexts.slice(-5))}\nlog:\n${fake.logs.slice(-30).join('\n')}`;
  const ext = loadExtension(fake);
  const ctx = fakeContext(path.join(tmp, 'no-bundle'));
  try {
    await ext.activate(ctx);
    assert.deepEqual(fake.errors, [], detail());
    // Without automatic training and without a Cartridge the server is idle.
    await until('the status bar idle', () => fake.statusTexts.at(-1) === '$(circle-outline) cart', 60_000, detail);

    // Ask about this repository: the answer streams into the panel.
    await fake.commands.get('cartlsp.askRepository')!('What does Hello return?');
    assert.deepEqual(fake.errors, [], detail());
    assert.ok(fake.panelHtml.length >= 2, `the panel rendered while streaming (${fake.panelHtml.length} times)`);
    // The last render (throttled) has the answer's footer: where it came from.
    const last = await until('the answer rendered with its footer', () => fake.panelHtml.find((h) => /corpus in context/.test(h)), 5_000, () => fake.panelHtml.at(-1) ?? '');
    assert.match(last, /What does Hello return\?/);
    assert.ok(!last.includes('thinking…'), last);

    // @cartridge streams with response.markdown.
    const chat = fake.participants.get('cartlsp.cartridge')!;
    const pieces: string[] = [];
    const response = { markdown: (s: string) => pieces.push(s), progress: () => undefined };
    const result = await chat({ prompt: 'What does Count.Add do?', references: [] }, {}, response, new CancellationTokenSource().token);
    assert.deepEqual(result, {});
    assert.ok(pieces.length >= 2, `streamed pieces: ${JSON.stringify(pieces)}`);
    assert.match(pieces.at(-1)!, /corpus in context/);

    // A cancelled chat request stops and answers nothing more.
    const cts = new CancellationTokenSource();
    const cancelledPieces: string[] = [];
    const pending = chat({ prompt: 'Describe every file in detail.', references: [] }, {}, { markdown: (s: string) => cancelledPieces.push(s), progress: () => undefined }, cts.token);
    setTimeout(() => cts.cancel(), 50);
    assert.deepEqual(await pending, {});
    assert.ok(!cancelledPieces.some((p) => /corpus in context/.test(p)), `no footer after a cancel: ${JSON.stringify(cancelledPieces)}`);

    // Show status: the server's cartlsp.status.
    await fake.commands.get('cartlsp.showStatus')!();
    assert.match(fake.infos.at(-1) ?? '', /^cartlsp: .*answers from the corpus in context/, detail());

    // Train now: training starts (autoTrain is off) and the status bar shows it.
    await fake.commands.get('cartlsp.trainNow')!();
    assert.match(fake.infos.at(-1) ?? '', /^cartlsp: /, detail());
    await until('the status bar training', () => fake.statusTexts.find((t) => /^\$\(sync~spin\) cart \d+%$/.test(t)), 60_000, detail);
  } finally {
    await ext.deactivate();
    for (const d of ctx.subscriptions) {
      d.dispose();
    }
    delete process.env.CARTLSP_STORE;
  }
  assert.deepEqual(fake.errors, [], detail());
  // Deactivation in the middle of training stopped the server in time.
  assert.ok(!fake.logs.some((l) => l.includes('stopping cartlsp')), detail());
});
