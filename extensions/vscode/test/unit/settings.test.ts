import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { needsRestart, plainSection, toInitializationOptions } from '../../src/settings';

test('the defaults: empty strings and client settings are left out', () => {
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
