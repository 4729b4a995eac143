import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyStderr } from '../../src/logs';

test('stderr: log lines that window/logMessage also carries are skipped; debug and crashes are kept', () => {
  assert.equal(classifyStderr('time=2026-11-27T13:21:18.946Z level=INFO msg=initialize client=fake'), 'skip');
  assert.equal(classifyStderr('time=2026-11-27T13:21:18.946Z level=WARN msg="x"'), 'skip');
  assert.equal(classifyStderr('time=2026-11-27T13:21:18.946Z level=ERROR msg="loading the model" err=…'), 'skip');
  assert.equal(classifyStderr('time=2026-11-27T13:21:18.946Z level=DEBUG msg=tokens n=3'), 'debug');
  assert.equal(classifyStderr('time=2026-11-27T13:21:18.946Z level=DEBUG-2 msg=x'), 'debug');
  assert.equal(classifyStderr('panic: runtime error: index out of range [3] with length 3'), 'error');
  assert.equal(classifyStderr('goroutine 1 [running]:'), 'error');
  assert.equal(classifyStderr('cartlsp serve: unexpected arguments ["x"]'), 'error');
  assert.equal(classifyStderr('   '), 'skip');
});
