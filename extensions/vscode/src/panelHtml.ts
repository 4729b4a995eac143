// The HTML of the answers panel (a webview). The extension renders the
// Markdown with VS Code's own renderer and posts the HTML to the page; this
// module only builds the page and the fallback. No vscode import.

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** The Markdown as preformatted text, when the Markdown renderer is unavailable. */
export function fallbackHtml(markdown: string): string {
  return `<pre class="fallback">${escapeHtml(markdown)}</pre>`;
}

/** A random nonce for the page's Content-Security-Policy. */
export function nonce(random: () => number = Math.random): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < 32; i++) {
    out += chars.charAt(Math.floor(random() * chars.length));
  }
  return out;
}

/**
 * The page: its body is replaced by the HTML that the extension posts
 * ({type: "render", html}). Scripts run only with the nonce; no remote content.
 */
export function panelPage(opts: { nonce: string; cspSource: string; initialHtml?: string }): string {
  const csp = [
    "default-src 'none'",
    `img-src ${opts.cspSource} https: data:`,
    `style-src ${opts.cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${opts.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>cartlsp</title>
<style>
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 1em 2em; line-height: 1.5; }
  pre, code { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  pre { background: var(--vscode-textCodeBlock-background); padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
  blockquote { border-left: 3px solid var(--vscode-textBlockQuote-border); margin: 0; padding: 0 0.8em; color: var(--vscode-descriptionForeground); }
  hr { border: none; border-top: 1px solid var(--vscode-panel-border); margin: 1.5em 0; }
  h3 { margin-bottom: 0.2em; }
</style>
</head>
<body>
<div id="content">${opts.initialHtml ?? '<p><em>Ask a question: “cartlsp: Ask about this repository”.</em></p>'}</div>
<script nonce="${opts.nonce}">
  const content = document.getElementById('content');
  window.addEventListener('message', (event) => {
    const m = event.data;
    if (m && m.type === 'render' && typeof m.html === 'string') {
      content.innerHTML = m.html;
    }
  });
</script>
</body>
</html>`;
}
