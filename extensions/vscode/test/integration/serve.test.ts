// Drives the real `cartlsp serve` over stdio with vscode-jsonrpc, as the
// extension's language client does: initialize, cartridge/status, training
// work-done progress, a streamed cartridge/ask, inline and list completion, a cancelled ask, the
// cartlsp.status command, shutdown and exit. And the model fix-it path: a
// server without its model says why, and the extension's message says
// `cartlsp model pull`.
//
// Needs the binary (CARTLSP_BIN, default ../../bin/cartlsp: `make build`) and
// the model (CARTLSP_MODEL, else `cartlsp model path`: `cartlsp model pull`);
// CARTLSP_SKIP_VSCODE_INTEGRATION=1 skips it.

import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  MessageConnection,
  ProgressType,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
} from 'vscode-jsonrpc/node';

import { ASK_METHOD, AskResult, AskStream, REQUEST_CANCELLED, STATUS_METHOD, askParams, isCancelled, selectionParams } from '../../src/ask';
import { toInitializationOptions } from '../../src/settings';
import { CartridgeStatus, formatStatus, modelFixMessage } from '../../src/status';
import { TIMEOUT, bin, git, makeRepo, modelPath, requirements, skip } from '../support/repo';

interface Server {
  proc: cp.ChildProcessWithoutNullStreams;
  conn: MessageConnection;
  stderr: () => string;
  exited: Promise<number | null>;
  statuses: CartridgeStatus[];
  progress: Array<{ token: string | number; value: { kind: string; percentage?: number; title?: string; message?: string } }>;
  createdTokens: Array<string | number>;
  shownMessages: Array<{ type: number; message: string }>;
  waitFor<T>(what: string, check: () => T | undefined, ms?: number): Promise<T>;
}

function startServer(env: NodeJS.ProcessEnv, cwd: string): Server {
  const proc = cp.spawn(bin, ['serve', '--log-level', 'info'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    if (err.length > 200_000) {
      err = err.slice(-100_000);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const s: Server = {
    proc,
    conn,
    stderr: () => err,
    exited,
    statuses: [],
    progress: [],
    createdTokens: [],
    shownMessages: [],
    waitFor: async (what, check, ms = TIMEOUT) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = check();
        if (v !== undefined && v !== false) {
          return v;
        }
        if (proc.exitCode !== null) {
          throw new Error(`waiting for ${what}: the server exited (${proc.exitCode}); its log:\n${err.slice(-4000)}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`waiting for ${what}: timed out; statuses: ${JSON.stringify(s.statuses.map((x) => x.message))}; log:\n${err.slice(-4000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  conn.onNotification(STATUS_METHOD, (st: CartridgeStatus) => {
    s.statuses.push(st);
  });
  conn.onNotification('window/logMessage', () => undefined);
  conn.onNotification('window/showMessage', (m: { type: number; message: string }) => {
    s.shownMessages.push(m);
  });
  conn.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
    s.createdTokens.push(p.token);
    conn.onProgress(new ProgressType<Server['progress'][number]['value']>(), p.token, (value) => {
      s.progress.push({ token: p.token, value });
    });
    return null;
  });
  conn.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => null));
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('window/showMessageRequest', () => null);
  conn.onUnhandledProgress(() => undefined);
  conn.listen();
  return s;
}

const clientCapabilities = {
  window: { workDoneProgress: true, showMessage: {} },
  workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true }, workspaceFolders: true, executeCommand: {} },
  textDocument: {
    synchronization: { dynamicRegistration: false },
    completion: { completionItem: { snippetSupport: false } },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    inlineCompletion: {},
  },
  general: { positionEncodings: ['utf-16'] },
};

async function initialize(s: Server, repo: string, options: Record<string, unknown>) {
  const uri = pathToFileURL(repo).href;
  const result = await s.conn.sendRequest<{
    capabilities: {
      textDocumentSync?: number | { change?: number; openClose?: boolean };
      completionProvider?: unknown;
      hoverProvider?: unknown;
      inlineCompletionProvider?: unknown;
      executeCommandProvider?: { commands: string[] };
    };
    serverInfo?: { name: string; version?: string };
  }>('initialize', {
    processId: process.pid,
    clientInfo: { name: 'cartlsp vscode integration test' },
    rootUri: uri,
    workspaceFolders: [{ uri, name: path.basename(repo) }],
    capabilities: clientCapabilities,
    initializationOptions: options,
  });
  await s.conn.sendNotification('initialized', {});
  return result;
}

async function shutdown(s: Server): Promise<number | null> {
  await s.conn.sendRequest('shutdown');
  await s.conn.sendNotification('exit');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([s.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 30_000)))]);
  clearTimeout(timer);
  if (code === 'timeout') {
    s.proc.kill('SIGKILL');
    throw new Error(`cartlsp did not exit within 30 s of exit; log:\n${s.stderr().slice(-4000)}`);
  }
  s.conn.dispose();
  return code;
}

let tmp = '';
let missing: string | undefined;

before(() => {
  if (skip) {
    return;
  }
  missing = requirements();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cartlsp-vscode-it-'));
});

after(() => {
  if (tmp) {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('cartlsp serve: initialize, status, training progress, streamed and cancelled asks, status command, shutdown', { skip: skip && 'CARTLSP_SKIP_VSCODE_INTEGRATION=1', timeout: TIMEOUT }, async () => {
  assert.equal(missing, undefined, missing);
  const repo = path.join(tmp, 'repo');
  makeRepo(repo);
  const env = { ...process.env, CARTLSP_MODEL: modelPath(), CARTLSP_STORE: path.join(tmp, 'store') };
  const s = startServer(env, repo);
  try {
    // What the extension sends: the settings section mapped to initializationOptions.
    const init = await initialize(s, repo, toInitializationOptions({ serverPath: '/ignored', model: '', budget: 'tiny', trace: { server: 'off' } }));
    assert.equal(init.serverInfo?.name, 'cartlsp');
    const caps = init.capabilities;
    const sync = typeof caps.textDocumentSync === 'number' ? caps.textDocumentSync : caps.textDocumentSync?.change;
    assert.equal(sync, 2, 'incremental text sync');
    assert.ok(caps.completionProvider, 'completionProvider');
    assert.ok(caps.hoverProvider, 'hoverProvider');
    assert.ok(caps.inlineCompletionProvider, 'inlineCompletionProvider');
    assert.deepEqual([...(caps.executeCommandProvider?.commands ?? [])].sort(), ['cartlsp.ask', 'cartlsp.pullDependencies', 'cartlsp.status', 'cartlsp.train']);

    // The status bar follows cartridge/status: training with a percentage (or ready).
    const training = await s.waitFor('a cartridge/status training with a percentage, or ready', () =>
      s.statuses.find((x) => (x.state === 'training' && typeof x.percentage === 'number') || x.state === 'ready'),
    );
    assert.match(formatStatus(training).text, /^\$\((sync~spin\) cart \d+%|check\) cart @[0-9a-f]{7})$/);

    // Training's work-done progress: the server created a token, then begin and report.
    await s.waitFor('work-done progress begin', () => s.progress.find((p) => p.value.kind === 'begin'));
    const begin = s.progress.find((p) => p.value.kind === 'begin');
    assert.ok(s.createdTokens.includes(begin!.token), 'the token was created with window/workDoneProgress/create');
    assert.equal(begin!.value.title, 'cartlsp: training');
    await s.waitFor('work-done progress report', () => s.progress.find((p) => p.value.kind === 'report'));

    // A streamed question, about a selection of greet.go.
    const stream = new AskStream('What does Hello return?');
    const token = 'it-ask-1';
    const sub = s.conn.onProgress(new ProgressType<unknown>(), token, (v) => {
      stream.piece(v);
    });
    const sel = selectionParams(pathToFileURL(path.join(repo, 'greet.go')).href, { start: { line: 5, character: 0 }, end: { line: 12, character: 1 } });
    const r = await s.conn.sendRequest<AskResult>(ASK_METHOD, askParams('What does Hello return?', { token, maxTokens: 24, selection: sel }));
    sub.dispose();
    assert.equal(typeof r.answer, 'string');
    assert.ok(r.answer.trim().length > 0, `a non-empty answer: ${JSON.stringify(r)}`);
    assert.ok(['cartridge', 'in-context', 'none'].includes(r.source ?? ''), `source ${r.source}`);
    assert.ok(stream.entry.pieces > 0, 'partial results streamed');
    assert.equal(stream.entry.text, r.answer, 'the pieces add up to the answer');
    stream.finish(r);
    assert.ok(stream.markdown().includes(r.answer));

    // Completions, as the language client asks for them: inline (LSP 3.18) and the list.
    const greetUri = pathToFileURL(path.join(repo, 'greet.go')).href;
    const greetText = fs.readFileSync(path.join(repo, 'greet.go'), 'utf8');
    await s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: greetUri, languageId: 'go', version: 1, text: greetText } });
    const at = { line: 7, character: 1 }; // after the tab that opens Hello's body
    const inline = await s.conn.sendRequest<null | { items: Array<{ insertText: unknown }> } | Array<{ insertText: unknown }>>('textDocument/inlineCompletion', {
      textDocument: { uri: greetUri },
      position: at,
      context: { triggerKind: 2 },
    });
    const inlineItems = inline === null ? [] : Array.isArray(inline) ? inline : inline.items;
    assert.ok(Array.isArray(inlineItems) && inlineItems.length <= 1, `inline completion: ${JSON.stringify(inline)}`);
    for (const it of inlineItems) {
      assert.equal(typeof it.insertText, 'string', JSON.stringify(it));
    }
    const list = await s.conn.sendRequest<null | { items: unknown[] } | unknown[]>('textDocument/completion', { textDocument: { uri: greetUri }, position: at, context: { triggerKind: 1 } });
    const listItems = list === null ? [] : Array.isArray(list) ? list : list.items;
    assert.ok(Array.isArray(listItems) && listItems.length <= 1, `completion: ${JSON.stringify(list)}`);

    // A cancelled question rejects with RequestCancelled.
    const cts = new CancellationTokenSource();
    const cancelled = s.conn.sendRequest<AskResult>(ASK_METHOD, askParams('Describe every file of this repository in detail.', { token: 'it-ask-2', maxTokens: 256 }), cts.token);
    cts.cancel();
    await assert.rejects(cancelled, (e: unknown) => {
      assert.ok(e instanceof ResponseError, `a ResponseError: ${e}`);
      assert.equal(e.code, REQUEST_CANCELLED);
      assert.ok(isCancelled(e));
      return true;
    });

    // The command behind "Show status".
    const st = await s.conn.sendRequest<CartridgeStatus>('workspace/executeCommand', { command: 'cartlsp.status', arguments: [] });
    assert.ok(['starting', 'training', 'ready', 'idle', 'stopped'].includes(st.state), `status ${JSON.stringify(st)}`);
    assert.ok(st.message, 'a status message');
    assert.ok(formatStatus(st).text.endsWith('cart') || /cart( \d+%| @[0-9a-f]{7})$/.test(formatStatus(st).text));

    // The training ends (tiny budget: about a minute on 2 cores): progress end,
    // status ready at HEAD, and questions answered from the Cartridge.
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const ready = await s.waitFor('cartridge/status ready', () => s.statuses.find((x) => x.state === 'ready'));
    assert.equal(ready.cartridgeCommit ?? ready.commit, head);
    assert.equal(formatStatus(ready).text, `$(check) cart @${head.slice(0, 7)}`);
    assert.ok(ready.cartridge && fs.existsSync(ready.cartridge), `the Cartridge file ${ready.cartridge}`);
    await s.waitFor('work-done progress end', () => s.progress.find((p) => p.value.kind === 'end' && p.token === begin!.token));
    const percents = s.progress.filter((p) => p.token === begin!.token && typeof p.value.percentage === 'number').map((p) => p.value.percentage!);
    assert.ok(percents.length > 0 && percents.every((v, i) => v >= 0 && v <= 100 && (i === 0 || v >= percents[i - 1])), `percentages ${percents}`);
    const r2 = await s.conn.sendRequest<AskResult>(ASK_METHOD, askParams('What does Count.Add return?', { maxTokens: 16 }));
    assert.equal(r2.source, 'cartridge');
    assert.equal(r2.commit, head);
    assert.ok(r2.answer.trim().length > 0);

    assert.equal(await shutdown(s), 0);
  } catch (e) {
    s.proc.kill('SIGKILL');
    throw e;
  }
});

test('cartlsp serve without its model: cartridge/status error, and the fix says `cartlsp model pull`', { skip: skip && 'CARTLSP_SKIP_VSCODE_INTEGRATION=1', timeout: 60_000 }, async () => {
  assert.ok(fs.existsSync(bin), missing);
  const repo = path.join(tmp, 'repo-nomodel');
  makeRepo(repo);
  const env = { ...process.env, CARTLSP_MODEL: path.join(tmp, 'no-such-model.gguf'), CARTLSP_STORE: path.join(tmp, 'store-nomodel') };
  const s = startServer(env, repo);
  try {
    await initialize(s, repo, {});
    const err = await s.waitFor('a cartridge/status error', () => s.statuses.find((x) => x.state === 'error'), 30_000);
    assert.equal(formatStatus(err).text, '$(error) cart');
    const fix = modelFixMessage(err);
    assert.ok(fix, `a fix-it message for ${JSON.stringify(err)}`);
    assert.ok(fix.includes('cartlsp model pull'));
    assert.ok(fix.includes('no-such-model.gguf'), fix);
    await s.waitFor('window/showMessage', () => s.shownMessages.find((m) => /cannot load the model/.test(m.message)), 10_000);
    // A question still answers (the server says why it cannot).
    const r = await s.conn.sendRequest<AskResult>(ASK_METHOD, { question: 'hi' }).then(
      (x) => ({ ok: true as const, x }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    if (!r.ok) {
      assert.ok(r.e instanceof ResponseError, String(r.e));
      assert.match(r.e.message, /model/);
    }
    assert.equal(await shutdown(s), 0);
  } catch (e) {
    s.proc.kill('SIGKILL');
    throw e;
  }
});
