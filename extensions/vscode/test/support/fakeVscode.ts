// A stand-in for the vscode module, enough for the compiled extension and
// vscode-languageclient to load, activate and talk to a real server under
// node --test (VS Code itself cannot run here). What the extension shows is
// recorded: messages, status bar texts, the answers panel's HTML, commands,
// chat participants. Anything else is a stub: callable, constructible, every
// property another stub.

import Module from 'node:module';
import * as path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { CancellationTokenSource, Emitter } from 'vscode-jsonrpc';

type AnyFn = (...args: unknown[]) => unknown;

export function stub(): unknown {
  const target = function () {} as unknown as AnyFn;
  return new Proxy(target, {
    get: (_t, p) => (p === 'then' ? undefined : p === Symbol.toPrimitive ? () => '' : p === Symbol.iterator ? undefined : stub()),
    apply: () => stub(),
    construct: () => stub() as object,
  });
}

/** Properties of t, else of a stub. */
function withStubs<T extends object>(t: T): T {
  const base = stub() as Record<string | symbol, unknown>;
  return new Proxy(t, { get: (o, p) => (p in o ? (o as Record<string | symbol, unknown>)[p] : base[p]) });
}

class Disposable {
  static from(...ds: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => ds.forEach((d) => d.dispose()));
  }
  constructor(private readonly fn: () => unknown) {}
  dispose(): void {
    this.fn();
  }
}

class EventEmitter<T> {
  private readonly e = new Emitter<T>();
  readonly event = this.e.event;
  fire(v: T): void {
    this.e.fire(v);
  }
  dispose(): void {
    this.e.dispose();
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
    readonly raw: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p), pathToFileURL(path.resolve(p)).href);
  }
  static parse(s: string): Uri {
    const scheme = s.slice(0, Math.max(0, s.indexOf(':')));
    return new Uri(scheme, scheme === 'file' ? fileURLToPath(s) : '', s);
  }
  get path(): string {
    return this.scheme === 'file' ? this.fsPath : this.raw;
  }
  toString(): string {
    return this.raw;
  }
  with(): Uri {
    return this;
  }
  toJSON(): string {
    return this.raw;
  }
}

class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    if (typeof a === 'number') {
      this.start = new Position(a, b as number);
      this.end = new Position(c as number, d as number);
    } else {
      this.start = a;
      this.end = b as Position;
    }
  }
}

class Location {
  constructor(
    readonly uri: Uri,
    readonly range: Range,
  ) {}
}

export interface Fake {
  vscode: Record<string, unknown>;
  errors: string[];
  infos: string[];
  commands: Map<string, AnyFn>;
  participants: Map<string, AnyFn>;
  statusTexts: string[];
  panelHtml: string[];
  logs: string[];
  /** Grants workspace trust: runs the extension's onDidGrantWorkspaceTrust listeners. */
  grantTrust: () => void;
}

export function makeFake(settings: Record<string, unknown>, opts: { chat?: boolean; workspaceFolder?: string; trusted?: boolean } = {}): Fake {
  const trustListeners: AnyFn[] = [];
  let trusted = opts.trusted ?? true;
  const f: Fake = {
    vscode: {},
    errors: [],
    infos: [],
    commands: new Map(),
    participants: new Map(),
    statusTexts: [],
    panelHtml: [],
    logs: [],
    grantTrust: () => {
      trusted = true;
      for (const l of trustListeners) {
        l();
      }
    },
  };
  const noop = () => undefined;
  const disposable = { dispose: noop };
  const log = (level: string) => (m: unknown) => {
    f.logs.push(`${level}: ${String(m)}`);
  };
  const channel = withStubs({
    name: 'cartlsp',
    logLevel: 2,
    onDidChangeLogLevel: () => disposable,
    trace: log('trace'),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    append: log('append'),
    appendLine: log('line'),
    replace: noop,
    clear: noop,
    show: noop,
    hide: noop,
    dispose: noop,
  });
  const statusItem: Record<string, unknown> = { show: noop, hide: noop, dispose: noop };
  Object.defineProperty(statusItem, 'text', { set: (v: string) => f.statusTexts.push(v), get: () => f.statusTexts.at(-1) });
  const event = () => disposable;
  const folder = opts.workspaceFolder ? { uri: Uri.file(opts.workspaceFolder), name: path.basename(opts.workspaceFolder), index: 0 } : undefined;
  // settings is the cartlsp section, nested as VS Code gives it: getConfiguration('cartlsp')
  // has its fields, getConfiguration().get('cartlsp') is the section (what the
  // language client sends in workspace/didChangeConfiguration).
  // The section's values count as the user's settings (inspect's globalValue);
  // dotted keys reach into nested ones (completion.latencyMs).
  const inspectIn = (own: Record<string, unknown>, key: string) => {
    let v: unknown = own;
    for (const part of key.split('.')) {
      if (typeof v !== 'object' || v === null || !(part in v)) {
        return undefined;
      }
      v = (v as Record<string, unknown>)[part];
    }
    return { key, globalValue: v };
  };
  const config = (section?: string) => {
    const own: Record<string, unknown> = section === 'cartlsp' ? settings : section === undefined ? { cartlsp: settings } : {};
    return { ...own, get: (k: string, d?: unknown) => (k in own ? own[k] : d), has: (k: string) => k in own, inspect: (k: string) => inspectIn(own, k), update: async () => undefined };
  };
  const vscode: Record<string, unknown> = {
    version: '1.91.0',
    env: withStubs({ language: 'en', appName: 'fake', machineId: 'x', sessionId: 'y', uiKind: 1, clipboard: { writeText: async () => undefined } }),
    window: withStubs({
      createOutputChannel: () => channel,
      createStatusBarItem: () => statusItem,
      showErrorMessage: async (m: string) => {
        f.errors.push(m);
        return undefined;
      },
      showWarningMessage: async (m: string) => {
        f.errors.push(m);
        return undefined;
      },
      showInformationMessage: async (m: string) => {
        f.infos.push(m);
        return undefined;
      },
      withProgress: async (_o: unknown, task: (p: unknown, t: unknown) => Promise<unknown>) => task({ report: noop }, new CancellationTokenSource().token),
      createWebviewPanel: () => ({
        webview: {
          html: '',
          cspSource: 'vscode-webview://fake',
          postMessage: async (m: { html: string }) => {
            f.panelHtml.push(m.html);
            return true;
          },
        },
        reveal: noop,
        onDidDispose: event,
        dispose: noop,
      }),
      activeTextEditor: undefined,
      visibleTextEditors: [],
      onDidChangeActiveTextEditor: event,
      onDidChangeVisibleTextEditors: event,
      tabGroups: withStubs({ all: [], onDidChangeTabs: event, onDidChangeTabGroups: event }),
    }),
    workspace: withStubs({
      getConfiguration: config,
      onDidChangeConfiguration: event,
      workspaceFolders: folder ? [folder] : undefined,
      get isTrusted() {
        return trusted;
      },
      onDidGrantWorkspaceTrust: (l: AnyFn) => {
        trustListeners.push(l);
        return disposable;
      },
      getWorkspaceFolder: () => folder,
      textDocuments: [],
      notebookDocuments: [],
      onDidOpenTextDocument: event,
      onDidCloseTextDocument: event,
      onDidChangeTextDocument: event,
      onDidSaveTextDocument: event,
      onWillSaveTextDocument: event,
      onDidChangeWorkspaceFolders: event,
      onDidOpenNotebookDocument: event,
      onDidCloseNotebookDocument: event,
      onDidChangeNotebookDocument: event,
      onDidSaveNotebookDocument: event,
      createFileSystemWatcher: () => withStubs({ dispose: noop, onDidCreate: event, onDidChange: event, onDidDelete: event }),
    }),
    languages: withStubs({ match: () => 0 }),
    commands: {
      registerCommand: (id: string, fn: AnyFn) => {
        f.commands.set(id, fn);
        return { dispose: () => f.commands.delete(id) };
      },
      executeCommand: async (id: string, ...args: unknown[]) => {
        const fn = f.commands.get(id);
        return fn ? fn(...args) : undefined;
      },
    },
    Disposable,
    EventEmitter,
    CancellationTokenSource,
    CancellationError: class CancellationError extends Error {
      constructor() {
        super('Canceled');
        this.name = 'Canceled';
      }
    },
    Uri,
    Position,
    Range,
    Location,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    ViewColumn: { Active: -1, Beside: -2, One: 1 },
    LogLevel: { Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 },
    MarkdownString: class {
      supportThemeIcons = false;
      isTrusted = false;
      constructor(public value = '') {}
      appendMarkdown(s: string) {
        this.value += s;
        return this;
      }
    },
    ThemeColor: class {
      constructor(public id: string) {}
    },
    ThemeIcon: class {
      constructor(public id: string) {}
    },
  };
  if (opts.chat) {
    vscode.chat = {
      createChatParticipant: (id: string, handler: AnyFn) => {
        f.participants.set(id, handler);
        return { dispose: () => f.participants.delete(id), iconPath: undefined };
      },
    };
  }
  const base = stub() as Record<string | symbol, unknown>;
  f.vscode = new Proxy(vscode, { get: (t, p) => (p in t ? t[p as string] : p === 'chat' ? undefined : base[p]) });
  return f;
}

const M = Module as unknown as { _load: AnyFn };
const originalLoad = M._load;

export interface ExtensionModule {
  activate(ctx: unknown): Promise<void>;
  deactivate(): Promise<void>;
}

/** Loads out/src/extension.js (fresh) with fake as its vscode module. */
export function loadExtension(fake: Fake): ExtensionModule {
  M._load = function (this: unknown, request: unknown, ...rest: unknown[]) {
    if (request === 'vscode') {
      return fake.vscode;
    }
    return originalLoad.call(this, request, ...rest);
  };
  const root = path.resolve(__dirname, '..', '..', 'src');
  for (const k of Object.keys(require.cache)) {
    if (k.startsWith(root) || k.includes(`${path.sep}vscode-languageclient${path.sep}`)) {
      delete require.cache[k];
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh load of the compiled extension, after the fake is in place
  return require(path.join(root, 'extension.js')) as ExtensionModule;
}

/** Puts the real module loader back. */
export function unloadFake(): void {
  M._load = originalLoad;
}

export function fakeContext(extensionPath = '/nonexistent-extension') {
  return { subscriptions: [] as Array<{ dispose(): unknown }>, extensionPath };
}

export async function until<T>(what: string, check: () => T | undefined | false, ms: number, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`waiting for ${what}: timed out. ${detail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
