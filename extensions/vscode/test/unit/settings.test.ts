import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { explicitSettings, needsRestart, plainSection, serverKeys, toInitializationOptions } from '../../src/settings';

test('the defaults: empty strings and client settings are left out (hover.enable is the server\'s)', () => {
  const section = {
    serverPath: '',
    model: '',
    budget: 'small',
    p: 0,
    device: 'auto',
    dependencies: [],
    autoTrain: true,
    threads: 0,
    completion: { latencyMs: 1500 },
    ask: { maxTokens: 256 },
    hover: { enable: true },
    trace: { server: 'off' },
  };
  assert.deepEqual(toInitializationOptions(section), {
    budget: 'small',
    p: 0,
    device: 'auto',
    dependencies: [],
    autoTrain: true,
    threads: 0,
    completion: { latencyMs: 1500 },
    ask: { maxTokens: 256 },
    hover: { enable: true },
  });
});

test('values are passed as the server expects them', () => {
  assert.deepEqual(
    toInitializationOptions({ model: ' /m/x.gguf ', budget: 'tiny', p: 128.7, device: 'cpu', dependencies: ['/a.cart', '', ' /b.cart'], autoTrain: false, completion: { latencyMs: 800, bogus: 'x' } }),
    { model: '/m/x.gguf', budget: 'tiny', p: 128, device: 'cpu', dependencies: ['/a.cart', '/b.cart'], autoTrain: false, completion: { latencyMs: 800 } },
  );
});

test('wrong types and unknown fields are left out', () => {
  assert.deepEqual(toInitializationOptions({ p: 'x', autoTrain: 'yes', dependencies: 'a.cart', future: { x: 1 }, fn: () => 1, nothing: null }), {});
  assert.deepEqual(toInitializationOptions(undefined), {});
  assert.deepEqual(toInitializationOptions(null), {});
});

test('plainSection drops methods (VS Code configuration objects have get/has/update)', () => {
  const cfg = { budget: 'tiny', get: () => 1, has: () => true, nested: { latencyMs: 3 } };
  assert.deepEqual(plainSection(cfg), { budget: 'tiny', nested: { latencyMs: 3 } });
});

test('only a new server path restarts the server', () => {
  assert.equal(needsRestart((s) => s === 'cartlsp.serverPath'), true);
  assert.equal(needsRestart((s) => s === 'cartlsp.budget'), false);
});

test('explicitSettings: what the user set, null for the rest (the configuration files apply)', () => {
  const set: Record<string, { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown }> = {
    budget: { globalValue: 'small', workspaceValue: 'tiny' },
    'completion.maxTokens': { workspaceFolderValue: 20 },
    exclude: { globalValue: ['vendor/**', ' '] },
    model: { globalValue: '' },
  };
  const out = explicitSettings((k) => set[k]);
  assert.equal(out.budget, 'tiny');
  assert.deepEqual(out.exclude, ['vendor/**']);
  assert.equal(out.model, null); // empty: the files' model, else the default
  assert.equal(out.method, null);
  assert.deepEqual(out.completion, { enable: null, disabledLanguages: null, maxTokens: 20, latencyMs: null, contextTokens: null });
  assert.deepEqual(out.ask, { maxTokens: null });
  assert.deepEqual(out.hover, { enable: null });
  for (const k of serverKeys) {
    const [top, sub] = k.split('.');
    assert.ok(top in out && (sub === undefined || sub in (out[top] as object)), `${k} is sent`);
  }
});
