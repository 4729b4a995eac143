import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { escapeHtml, fallbackHtml, nonce, panelPage } from '../../src/panelHtml';

test('the page allows only its own script and has a render handler', () => {
  const n = nonce();
  assert.match(n, /^[A-Za-z0-9]{32}$/);
  const html = panelPage({ nonce: n, cspSource: 'vscode-webview://x' });
  assert.ok(html.includes(`script-src 'nonce-${n}'`));
  assert.ok(html.includes(`<script nonce="${n}">`));
  assert.ok(html.includes("default-src 'none'"));
  assert.ok(html.includes("m.type === 'render'"));
});

test('the fallback escapes HTML', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(fallbackHtml('<b>'), '<pre class="fallback">&lt;b&gt;</pre>');
});
