// cartridge/ask: its parameters, the stream of $/progress pieces for a
// partialResultToken, and the Markdown an answer is shown as. No vscode import.

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface AskParams {
  question: string;
  textDocument?: { uri: string };
  range?: Range;
  maxTokens?: number;
  partialResultToken?: string;
  workDoneToken?: string;
}

export interface AskTimings {
  firstTokenMs?: number;
  totalMs?: number;
  promptTokens?: number;
  generatedTokens?: number;
}

export interface AskResult {
  answer: string;
  source?: 'cartridge' | 'in-context' | 'none' | string;
  commit?: string;
  cartridge?: string;
  note?: string;
  stopReason?: string;
  timings?: AskTimings;
  /** Where the names the question and answer mention are declared: the files the answer draws on. */
  references?: AskReference[];
}

/** A declaration an answer mentions (an LSP Location and the name). */
export interface AskReference {
  uri: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  name: string;
}

/** "uuid.go:42" for a reference: its path relative to root when under it (else the file's name) and 1-based line. */
export function referenceLabel(r: AskReference, root?: string): string {
  let p = decodeURIComponent(r.uri.replace(/^file:\/\//, ''));
  const base = root?.replace(/\/$/, '');
  if (base && p.startsWith(`${base}/`)) {
    p = p.slice(base.length + 1);
  } else {
    p = p.slice(p.lastIndexOf('/') + 1);
  }
  return `${p}:${r.range.start.line + 1}`;
}

/** A partial result of cartridge/ask: one new piece of the answer. */
export interface AskPiece {
  text: string;
}

/** The method name of the custom request. */
export const ASK_METHOD = 'cartridge/ask';
/** The method name of the status notification. */
export const STATUS_METHOD = 'cartridge/status';
/** JSON-RPC RequestCancelled. */
export const REQUEST_CANCELLED = -32800;

let counter = 0;

/** A fresh progress token for a question: "cartlsp-ask-<n>-<time>". */
export function newAskToken(now: number = Date.now()): string {
  counter += 1;
  return `cartlsp-ask-${counter}-${now.toString(36)}`;
}

/** The params of a question, with a partialResultToken so that the answer streams. */
export function askParams(question: string, opts: { token?: string; maxTokens?: number; selection?: SelectionParams } = {}): AskParams {
  const p: AskParams = { question: question.trim() };
  if (opts.selection) {
    p.textDocument = opts.selection.textDocument;
    p.range = opts.selection.range;
  }
  if (opts.maxTokens !== undefined && opts.maxTokens > 0) {
    p.maxTokens = Math.trunc(opts.maxTokens);
  }
  if (opts.token) {
    p.partialResultToken = opts.token;
  }
  return p;
}

export interface SelectionParams {
  textDocument: { uri: string };
  range: Range;
}

/** What the editor knows about a selection (vscode.Selection, as plain data). */
export interface EditorSelection {
  start: Position;
  end: Position;
  /** The length of the cursor's line, for an empty selection. */
  activeLineLength?: number;
}

/**
 * The textDocument and range of a selection; an empty selection stands for its
 * whole line. Positions are LSP's (zero-based line, UTF-16 character), as VS Code's.
 */
export function selectionParams(uri: string, sel: EditorSelection): SelectionParams {
  let { start, end } = sel;
  if (start.line > end.line || (start.line === end.line && start.character > end.character)) {
    [start, end] = [end, start];
  }
  if (start.line === end.line && start.character === end.character) {
    start = { line: start.line, character: 0 };
    end = { line: start.line, character: Math.max(0, sel.activeLineLength ?? 0) };
  }
  return {
    textDocument: { uri },
    range: { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } },
  };
}

/** A short description of a range, for a title: "main.go:3-7". */
export function describeSelection(fileName: string, range: Range): string {
  const a = range.start.line + 1;
  let b = range.end.line + 1;
  if (range.end.character === 0 && range.end.line > range.start.line) {
    b -= 1;
  }
  return a === b ? `${fileName}:${a}` : `${fileName}:${a}-${b}`;
}

/** The state of one question as it streams. */
export interface AskEntry {
  question: string;
  /** Where the selection came from, e.g. "main.go:3-7". */
  context?: string;
  text: string;
  pieces: number;
  result?: AskResult;
  error?: string;
  cancelled?: boolean;
  done: boolean;
}

/**
 * Accumulates the $/progress pieces of one question and its result. onUpdate
 * runs after every change (the view re-renders; callers throttle it).
 */
export class AskStream {
  readonly entry: AskEntry;
  private readonly listeners: Array<(e: AskEntry) => void> = [];

  constructor(question: string, context?: string) {
    this.entry = { question, context, text: '', pieces: 0, done: false };
  }

  onUpdate(listener: (e: AskEntry) => void): void {
    this.listeners.push(listener);
  }

  /** A $/progress value for the question's partialResultToken. */
  piece(value: unknown): string {
    const text = pieceText(value);
    if (text === '' || this.entry.done) {
      return '';
    }
    this.entry.text += text;
    this.entry.pieces += 1;
    this.emit();
    return text;
  }

  /** The response: its answer replaces the streamed text (they agree, unless a piece was lost). */
  finish(result: AskResult | null | undefined): void {
    if (this.entry.done) {
      return;
    }
    this.entry.done = true;
    if (result) {
      this.entry.result = result;
      if (typeof result.answer === 'string' && result.answer !== '') {
        this.entry.text = result.answer;
      }
      if (result.stopReason === 'cancelled') {
        this.entry.cancelled = true;
      }
    }
    this.emit();
  }

  /** The request failed; a RequestCancelled error marks the question cancelled. */
  fail(err: unknown): void {
    if (this.entry.done) {
      return;
    }
    this.entry.done = true;
    if (isCancelled(err)) {
      this.entry.cancelled = true;
    } else {
      this.entry.error = errorMessage(err);
    }
    this.emit();
  }

  /** The whole entry as Markdown. */
  markdown(): string {
    return renderEntry(this.entry);
  }

  private emit(): void {
    for (const l of this.listeners) {
      l(this.entry);
    }
  }
}

/** The text of a partial result ({"text": piece}); anything else is no text. */
export function pieceText(value: unknown): string {
  if (value && typeof value === 'object' && typeof (value as AskPiece).text === 'string') {
    return (value as AskPiece).text;
  }
  return '';
}

/** Whether an error is JSON-RPC RequestCancelled (or VS Code's cancellation). */
export function isCancelled(err: unknown): boolean {
  if (!err || typeof err !== 'object') {
    return false;
  }
  const e = err as { code?: unknown; name?: unknown };
  return e.code === REQUEST_CANCELLED || e.name === 'Canceled' || e.name === 'CancellationError';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}

const sourceNames: Record<string, string> = {
  cartridge: 'Cartridge',
  'in-context': 'corpus in context',
  none: 'no repository context',
};

/** The line under an answer: where it came from, and how long it took. */
export function resultFooter(r: AskResult, root?: string): string {
  const parts: string[] = [];
  if (r.source) {
    let s = sourceNames[r.source] ?? r.source;
    if (r.commit) {
      s += ` @${r.commit.slice(0, 7)}`;
    }
    parts.push(s);
  }
  if (r.stopReason && r.stopReason !== 'eog' && r.stopReason !== 'stop') {
    parts.push(`stopped: ${r.stopReason}`);
  }
  const t = r.timings;
  if (t?.totalMs !== undefined) {
    let s = `${(t.totalMs / 1000).toFixed(1)} s`;
    if (t.generatedTokens !== undefined) {
      s += `, ${t.generatedTokens} tokens`;
    }
    if (t.firstTokenMs !== undefined) {
      s += `, first after ${(t.firstTokenMs / 1000).toFixed(1)} s`;
    }
    parts.push(s);
  }
  let out = parts.length ? `*${parts.join(' · ')}*` : '';
  if (r.references?.length) {
    const refs = r.references.map((x) => `\`${x.name}\` ${referenceLabel(x, root)}`).join(', ');
    out += `${out ? '\n\n' : ''}draws on: ${refs}`;
  }
  if (r.note) {
    out += `${out ? '\n\n' : ''}> ${r.note.replace(/\n/g, '\n> ')}`;
  }
  return out;
}

/** One question and its answer (so far) as Markdown. */
export function renderEntry(e: AskEntry): string {
  const out: string[] = [];
  out.push(`### ${oneLine(e.question)}`);
  if (e.context) {
    out.push(`*about ${e.context}*`);
  }
  if (e.text !== '') {
    out.push(closeFences(e.text));
  } else if (!e.done) {
    out.push('*thinking…*');
  }
  if (e.cancelled) {
    out.push('*(cancelled)*');
  }
  if (e.error) {
    out.push(`**Error:** ${e.error}`);
  }
  if (e.result) {
    const f = resultFooter(e.result);
    if (f) {
      out.push(f);
    }
  }
  return out.join('\n\n');
}

/** Several entries, the newest first, separated by rules. */
export function renderEntries(entries: AskEntry[]): string {
  return entries
    .slice()
    .reverse()
    .map(renderEntry)
    .join('\n\n---\n\n');
}

function oneLine(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 199)}…` : t;
}

/** Closes a code fence left open by a streaming answer, so the rest renders as Markdown. */
export function closeFences(text: string): string {
  const fences = text.match(/^\s*```/gm)?.length ?? 0;
  return fences % 2 === 1 ? `${text}\n\`\`\`` : text;
}
