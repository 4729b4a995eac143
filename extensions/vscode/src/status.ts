// The status bar item and the model fix-it message, from a cartridge/status
// notification (docs/LSP.md). No vscode import.

/** The body of cartridge/status and the result of the command cartlsp.status. */
export interface CartridgeStatus {
  state: 'starting' | 'training' | 'ready' | 'idle' | 'stopped' | 'error' | string;
  message?: string;
  percentage?: number;
  stage?: string;
  commit?: string;
  branch?: string;
  source?: 'cartridge' | 'in-context' | 'none' | string;
  cartridge?: string;
  cartridgeCommit?: string;
  error?: string;
}

export interface StatusView {
  /** The status bar text, with codicons. */
  text: string;
  /** Markdown for the tooltip. */
  tooltip: string;
  /** The status bar background: error and warning items stand out. */
  severity: 'normal' | 'warning' | 'error';
}

/** The first 7 characters of a commit hash. */
export function shortCommit(commit: string | undefined): string {
  return (commit ?? '').slice(0, 7);
}

const sourceWords: Record<string, string> = {
  cartridge: "the repository's Cartridge",
  'in-context': 'the corpus in context (no Cartridge yet)',
  none: 'the model alone (no repository context)',
};

/** What the status bar item shows for a status. */
export function formatStatus(s: CartridgeStatus): StatusView {
  let text: string;
  let severity: StatusView['severity'] = 'normal';
  switch (s.state) {
    case 'training': {
      const pct = typeof s.percentage === 'number' && Number.isFinite(s.percentage) ? ` ${Math.round(s.percentage)}%` : '';
      text = `$(sync~spin) cart${pct}`;
      break;
    }
    case 'ready': {
      const c = shortCommit(s.cartridgeCommit || s.commit);
      text = c ? `$(check) cart @${c}` : '$(check) cart';
      break;
    }
    case 'starting':
      text = '$(loading~spin) cart';
      break;
    case 'idle':
      text = '$(circle-outline) cart';
      break;
    case 'stopped':
      text = '$(debug-pause) cart';
      severity = 'warning';
      break;
    case 'error':
      text = '$(error) cart';
      severity = 'error';
      break;
    default:
      text = '$(question) cart';
  }
  return { text, tooltip: statusTooltip(s), severity };
}

/** The status bar text while no server runs. */
export function formatStopped(reason?: string): StatusView {
  return {
    text: '$(circle-slash) cart',
    tooltip: `**cartlsp** is not running${reason ? `: ${escapeMarkdown(reason)}` : ''}`,
    severity: 'warning',
  };
}

/** Markdown for the tooltip and the Show status message. */
export function statusTooltip(s: CartridgeStatus): string {
  const lines: string[] = [`**cartlsp**: ${escapeMarkdown(s.state)}${s.message ? ` — ${escapeMarkdown(s.message)}` : ''}`];
  if (s.error && !(s.message ?? '').includes(s.error)) {
    lines.push(`error: ${escapeMarkdown(s.error)}`);
  }
  if (s.commit) {
    lines.push(`HEAD: \`${shortCommit(s.commit)}\`${s.branch ? ` on ${escapeMarkdown(s.branch)}` : ''}`);
  }
  if (s.cartridge) {
    lines.push(`Cartridge: \`${s.cartridge}\`${s.cartridgeCommit ? ` (@${shortCommit(s.cartridgeCommit)})` : ''}`);
  }
  if (s.source) {
    lines.push(`answers from: ${sourceWords[s.source] ?? escapeMarkdown(s.source)}`);
  }
  return lines.join('\n\n');
}

/** One line for a notification message (no Markdown). */
export function statusLine(s: CartridgeStatus): string {
  const parts = [`cartlsp: ${s.message || s.state}`];
  if (s.source && sourceWords[s.source]) {
    parts.push(`answers from ${sourceWords[s.source]}`);
  }
  if (s.cartridge) {
    parts.push(`Cartridge ${s.cartridge}`);
  }
  return parts.join('; ');
}

const modelProblem = /cannot load the model|model file|not downloaded|cartlsp model pull|\.gguf/i;

/**
 * When the status says the server cannot load its model, the message that says
 * how to fix it; otherwise undefined.
 */
export function modelFixMessage(s: CartridgeStatus): string | undefined {
  if (s.state !== 'error') {
    return undefined;
  }
  const text = `${s.message ?? ''} ${s.error ?? ''}`;
  if (!modelProblem.test(text)) {
    return undefined;
  }
  return modelFixFor(s.error || s.message || 'cannot load the model');
}

/** The fix-it message for a model that cannot be loaded (err: the server's words). */
export function modelFixFor(err: string): string {
  const why = err.replace(/^cartlsp:\s*/, '').replace(/^cannot load the model:\s*/, '');
  return (
    `cartlsp cannot load the model (${why}). Run \`cartlsp model pull\` to download the default model ` +
    '(Qwen2.5-Coder-0.5B-Instruct, 469 MiB, into ~/.cache/cartlsp/models), or set cartlsp.model to a GGUF file or a model name; then restart the server.'
  );
}

/** Whether a window/showMessage text is the server's model error (shown by our fix-it instead). */
export function isModelError(message: string): boolean {
  return /cannot load the model/i.test(message);
}

function escapeMarkdown(s: string): string {
  return s.replace(/([\\`*_{}[\]<>#|])/g, '\\$1');
}
