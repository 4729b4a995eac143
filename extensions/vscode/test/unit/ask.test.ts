import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  AskStream,
  REQUEST_CANCELLED,
  askParams,
  closeFences,
  describeSelection,
  isCancelled,
  newAskToken,
  pieceText,
  renderEntries,
  resultFooter,
  selectionParams,
} from '../../src/ask';

test('pieces accumulate in order; the result replaces them and adds a footer', () => {
  const s = new AskStream('What does NewRandom return?');
  const seen: string[] = [];
  s.onUpdate((e) => seen.push(e.text));
  assert.ok(s.markdown().includes('*thinking…*'));
  s.piece({ text: 'It returns ' });
  s.piece({ text: '' });
  s.piece({ nope: 1 });
  s.piece({ text: 'a UUID.' });
  assert.deepEqual(seen, ['It returns ', 'It returns a UUID.']);
  assert.equal(s.entry.pieces, 2);
  s.finish({ answer: 'It returns a UUID.', source: 'cartridge', commit: '0e97ed3aaaa', stopReason: 'eog', timings: { firstTokenMs: 180, totalMs: 2400, generatedTokens: 87 } });
  const md = s.markdown();
  assert.ok(md.startsWith('### What does NewRandom return?\n\nIt returns a UUID.'), md);
  assert.ok(md.includes('*Cartridge @0e97ed3 · 2.4 s, 87 tokens, first after 0.2 s*'), md);
  // nothing changes after the end
  s.piece({ text: 'late' });
  assert.equal(s.entry.text, 'It returns a UUID.');
});

test('an empty answer keeps the streamed text; notes and stop reasons show', () => {
  const s = new AskStream('q', 'main.go:3-7');
  s.piece({ text: 'partial' });
  s.finish({ answer: '', source: 'in-context', note: 'the corpus was truncated\nto 2048 tokens', stopReason: 'length' });
  const md = s.markdown();
  assert.ok(md.includes('*about main.go:3-7*'));
  assert.ok(md.includes('partial'));
  assert.ok(md.includes('*corpus in context · stopped: length*'), md);
  assert.ok(md.includes('> the corpus was truncated\n> to 2048 tokens'), md);
});

test('cancelled and failed questions', () => {
  const c = new AskStream('q');
  c.piece({ text: 'half' });
  c.fail({ code: REQUEST_CANCELLED, message: 'cancelled' });
  assert.equal(c.entry.cancelled, true);
  assert.ok(c.markdown().includes('half\n\n*(cancelled)*'));
  const f = new AskStream('q');
  f.fail(new Error('boom'));
  assert.ok(f.markdown().includes('**Error:** boom'));
  assert.ok(isCancelled({ code: -32800 }));
  assert.ok(isCancelled({ name: 'Canceled' }));
  assert.ok(!isCancelled(new Error('x')));
  assert.ok(!isCancelled(undefined));
  const r = new AskStream('q');
  r.finish({ answer: 'a', stopReason: 'cancelled' });
  assert.equal(r.entry.cancelled, true);
});

test('ask params: a partial result token, a selection, maxTokens', () => {
  const sel = selectionParams('file:///r/main.go', { start: { line: 3, character: 2 }, end: { line: 1, character: 0 } });
  assert.deepEqual(sel, { textDocument: { uri: 'file:///r/main.go' }, range: { start: { line: 1, character: 0 }, end: { line: 3, character: 2 } } });
  assert.deepEqual(askParams('  why?  ', { token: 't1', maxTokens: 32, selection: sel }), {
    question: 'why?',
    textDocument: { uri: 'file:///r/main.go' },
    range: { start: { line: 1, character: 0 }, end: { line: 3, character: 2 } },
    maxTokens: 32,
    partialResultToken: 't1',
  });
  assert.deepEqual(askParams('q'), { question: 'q' });
});

test('an empty selection stands for its line', () => {
  assert.deepEqual(selectionParams('file:///a', { start: { line: 4, character: 7 }, end: { line: 4, character: 7 }, activeLineLength: 20 }).range, {
    start: { line: 4, character: 0 },
    end: { line: 4, character: 20 },
  });
  assert.equal(describeSelection('main.go', { start: { line: 2, character: 0 }, end: { line: 6, character: 0 } }), 'main.go:3-6');
  assert.equal(describeSelection('main.go', { start: { line: 2, character: 0 }, end: { line: 2, character: 9 } }), 'main.go:3');
});

test('tokens are unique; pieces must be {text}', () => {
  assert.notEqual(newAskToken(1), newAskToken(1));
  assert.match(newAskToken(), /^cartlsp-ask-\d+-[0-9a-z]+$/);
  assert.equal(pieceText({ text: 'x' }), 'x');
  assert.equal(pieceText('x'), '');
  assert.equal(pieceText(null), '');
});

test('an open code fence is closed while streaming; entries render newest first', () => {
  assert.equal(closeFences('a\n```go\nfunc'), 'a\n```go\nfunc\n```');
  assert.equal(closeFences('```go\nx\n```'), '```go\nx\n```');
  const a = new AskStream('first');
  a.finish({ answer: 'A' });
  const b = new AskStream('second');
  b.finish({ answer: 'B' });
  const md = renderEntries([a.entry, b.entry]);
  assert.ok(md.indexOf('second') < md.indexOf('first'));
  assert.ok(md.includes('\n\n---\n\n'));
  assert.equal(resultFooter({ answer: '' }), '');
  const refs = [
    { uri: 'file:///src/repo/pkg/uuid.go', range: { start: { line: 41, character: 0 }, end: { line: 41, character: 0 } }, name: 'Parse' },
    { uri: 'file:///elsewhere/x%20y.go', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, name: 'New' },
  ];
  assert.equal(resultFooter({ answer: 'a', references: refs }, '/src/repo/'), 'draws on: `Parse` pkg/uuid.go:42, `New` x y.go:1');
  assert.equal(resultFooter({ answer: 'a', references: refs.slice(0, 1) }), 'draws on: `Parse` uuid.go:42');
});
