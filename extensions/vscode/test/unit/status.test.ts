import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatStatus, formatStopped, isModelError, modelFixMessage, shortCommit, statusLine, statusTooltip } from '../../src/status';

test('training shows the percentage with a spinning icon', () => {
  const v = formatStatus({ state: 'training', message: 'training 42% (synthesis 17/40) for 0e97ed3 on main', percentage: 42, stage: 'synthesis', commit: '0e97ed3abc', branch: 'main', source: 'in-context' });
  assert.equal(v.text, '$(sync~spin) cart 42%');
  assert.equal(v.severity, 'normal');
  assert.ok(v.tooltip.includes('training 42%'));
  assert.ok(v.tooltip.includes('the corpus in context'));
  assert.equal(formatStatus({ state: 'training' }).text, '$(sync~spin) cart');
  assert.equal(formatStatus({ state: 'training', percentage: 0 }).text, '$(sync~spin) cart 0%');
});

test('ready shows the Cartridge commit', () => {
  assert.equal(formatStatus({ state: 'ready', commit: '0e97ed3111', cartridgeCommit: '5b7c2e1999', source: 'cartridge' }).text, '$(check) cart @5b7c2e1');
  assert.equal(formatStatus({ state: 'ready', commit: '0e97ed3111' }).text, '$(check) cart @0e97ed3');
  assert.equal(formatStatus({ state: 'ready' }).text, '$(check) cart');
});

test('error, stopped, idle, starting and unknown states', () => {
  const e = formatStatus({ state: 'error', message: 'cannot load the model: x', error: 'x', source: 'none' });
  assert.equal(e.text, '$(error) cart');
  assert.equal(e.severity, 'error');
  assert.equal(formatStatus({ state: 'stopped' }).severity, 'warning');
  assert.equal(formatStatus({ state: 'idle' }).text, '$(circle-outline) cart');
  assert.equal(formatStatus({ state: 'starting' }).text, '$(loading~spin) cart');
  assert.equal(formatStatus({ state: 'what' }).text, '$(question) cart');
  assert.equal(formatStopped().text, '$(circle-slash) cart');
});

test('the tooltip names HEAD, the Cartridge and what answers; Markdown is escaped', () => {
  const t = statusTooltip({ state: 'ready', message: 'ready for a_b', commit: '0e97ed3111', branch: 'main', cartridge: '/s/c.cart', cartridgeCommit: '0e97ed3111', source: 'cartridge' });
  assert.ok(t.includes('ready for a\\_b'), t);
  assert.ok(t.includes('HEAD: `0e97ed3` on main'));
  assert.ok(t.includes('Cartridge: `/s/c.cart` (@0e97ed3)'));
  assert.ok(t.includes("the repository's Cartridge"));
  assert.equal(shortCommit(undefined), '');
  assert.equal(statusLine({ state: 'idle', message: 'no Cartridge', source: 'in-context' }), 'cartlsp: no Cartridge; answers from the corpus in context (no Cartridge yet)');
});

test('a model that cannot be loaded: the fix says cartlsp model pull', () => {
  const s = {
    state: 'error',
    message: 'cannot load the model: the default model is not downloaded yet: run `cartlsp model pull` (or `make model`), or pass --model PATH.gguf',
    error: 'the default model is not downloaded yet: run `cartlsp model pull` (or `make model`), or pass --model PATH.gguf',
    source: 'none',
  };
  const m = modelFixMessage(s);
  assert.ok(m);
  assert.match(m, /^cartlsp cannot load the model \(the default model is not downloaded yet/);
  assert.ok(m.includes('Run `cartlsp model pull`'));
  assert.ok(m.includes('cartlsp.model'));
  assert.equal(modelFixMessage({ state: 'error', message: 'not a git repository', error: 'x' }), undefined);
  assert.equal(modelFixMessage({ state: 'training', message: 'cannot load the model' }), undefined);
  assert.ok(isModelError('cartlsp: cannot load the model: model file /x: stat /x: no such file or directory'));
  assert.ok(!isModelError('settings: budget: unknown'));
});
