// The VS Code extension: starts `cartlsp serve` through vscode-languageclient
// and wires its features to commands, a status bar item, an answers panel and
// the @cartridge chat participant. The logic lives in modules without a vscode
// import (serverPath, status, settings, ask, panelHtml), tested with node --test.

import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ProgressType,
  ServerOptions,
  ShowMessageNotification,
  State,
  TransportKind,
} from 'vscode-languageclient/node';

import {
  ASK_METHOD,
  AskParams,
  AskResult,
  AskStream,
  STATUS_METHOD,
  askParams,
  describeSelection,
  errorMessage,
  isCancelled,
  newAskToken,
  pieceText,
  renderEntries,
  resultFooter,
  selectionParams,
  SelectionParams,
} from './ask';
import { classifyStderr } from './logs';
import { escapeHtml, fallbackHtml, nonce, panelPage } from './panelHtml';
import { INSTALL_COMMAND, Resolution, repairBundledMode, resolveServerPath } from './serverPath';
import { explicitSettings, needsRestart } from './settings';
import { CartridgeStatus, formatStatus, formatStopped, isModelError, modelFixFor, modelFixMessage, statusLine, statusTooltip } from './status';

const SECTION = 'cartlsp';
const askPieceType = new ProgressType<unknown>();

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  controller = new Controller(context);
  context.subscriptions.push(controller);
  controller.registerCommands();
  controller.registerChatParticipant();
  await controller.startWhenAllowed();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

class Controller implements vscode.Disposable {
  private readonly output: vscode.LogOutputChannel;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly panel: AnswerPanel;
  private client: LanguageClient | undefined;
  private serverPath: string | undefined;
  private lastStatus: CartridgeStatus | undefined;
  private modelFixShown = false;
  private starting: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('cartlsp', { log: true });
    this.statusItem = vscode.window.createStatusBarItem('cartlsp.status', vscode.StatusBarAlignment.Left, 0);
    this.statusItem.name = 'cartlsp';
    this.statusItem.command = 'cartlsp.showStatus';
    this.showView(formatStopped('starting'));
    this.statusItem.show();
    this.panel = new AnswerPanel(context);
    this.disposables.push(
      this.output,
      this.statusItem,
      this.panel,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (needsRestart((s) => e.affectsConfiguration(s))) {
          void this.restart();
        } else if (e.affectsConfiguration(SECTION) && this.client?.state === State.Running) {
          const config = vscode.workspace.getConfiguration(SECTION);
          void this.client.sendNotification('workspace/didChangeConfiguration', { settings: explicitSettings((k) => config.inspect(k)) });
        }
      }),
    );
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) {
      d.dispose();
    }
  }

  registerCommands(): void {
    const reg = (id: string, fn: (...args: unknown[]) => unknown) => this.disposables.push(vscode.commands.registerCommand(id, fn));
    reg('cartlsp.askRepository', (question?: unknown) => this.askRepository(typeof question === 'string' ? question : undefined));
    reg('cartlsp.askSelection', () => this.askSelection());
    reg('cartlsp.trainNow', () => this.trainNow());
    reg('cartlsp.pullDependencies', () => this.pullDependencies());
    reg('cartlsp.showStatus', () => this.showStatus());
    reg('cartlsp.openLogs', () => this.output.show(true));
    reg('cartlsp.restartServer', () => this.restart());
    reg('cartlsp.toggleCompletions', () => this.toggleCompletions());
  }

  /** Flips cartlsp.completion.enable in the user's settings (the server gets it as any change). */
  private async toggleCompletions(): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const on = !config.get<boolean>('completion.enable', true);
    await config.update('completion.enable', on, vscode.ConfigurationTarget.Global);
    void vscode.window.showInformationMessage(`cartlsp: completions ${on ? 'on' : 'off'}`);
  }

  // ---- the language client ----

  /**
   * Starts the server at activation, unless the workspace is untrusted (it starts when trust is granted)
   * or no folder of it is inside a git repository (activation on start-up finished: it starts on the
   * first command instead, so that a window without a repository never loads the model).
   */
  async startWhenAllowed(): Promise<void> {
    if (vscode.workspace.isTrusted === false) {
      this.showView(formatStopped('the workspace is not trusted; cartlsp starts when you trust it'));
      this.disposables.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void this.start()));
      return;
    }
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    if (!folders.some((f) => gitRoot(f) !== undefined)) {
      this.showView(formatStopped('no git repository in this workspace; a cartlsp command starts the server'));
      return;
    }
    await this.start();
  }

  async start(): Promise<void> {
    if (vscode.workspace.isTrusted === false) {
      void vscode.window.showWarningMessage('cartlsp runs only in a trusted workspace: it reads the repository and runs a local model on its code.', 'Manage Workspace Trust').then((p) => {
        if (p) {
          void vscode.commands.executeCommand('workbench.trust.manage');
        }
      });
      return;
    }
    if (!this.starting) {
      this.starting = this.doStart().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const res = this.resolve(config.get<string>('serverPath', ''));
    if (!res.ok) {
      this.output.error(`${res.message}\nlooked in:\n  ${res.tried.join('\n  ')}`);
      this.showView(formatStopped('cartlsp was not found'));
      void this.notFound(res.message);
      return;
    }
    this.serverPath = res.path;
    this.output.info(`starting ${res.path} serve (${res.source})`);
    this.modelFixShown = false;

    const serverOptions: ServerOptions = {
      command: res.path,
      args: ['serve'],
      transport: TransportKind.stdio,
      options: { cwd: this.workspaceFolder() },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      // Only what the user set, so that the repository's .cartlsp.toml
      // applies under it (changes are sent by onDidChangeConfiguration).
      initializationOptions: explicitSettings((k) => config.inspect(k)),
      outputChannel: this.output,
      stdioOptions: {
        stdout: (input, channel) => lines(input, (l) => channel.info(l)),
        stderr: (input, channel) =>
          lines(input, (l) => {
            const kind = classifyStderr(l);
            if (kind === 'debug') {
              channel.debug(l);
            } else if (kind === 'error') {
              channel.error(l);
            }
          }),
      },
      initializationFailedHandler: (err) => {
        const msg = errorMessage(err);
        void vscode.window.showErrorMessage(`cartlsp did not start: ${msg}`, 'Open Settings', 'Open Logs').then((pick) => {
          if (pick === 'Open Settings') {
            void vscode.commands.executeCommand('workbench.action.openSettings', SECTION);
          } else if (pick === 'Open Logs') {
            this.output.show(true);
          }
        });
        return false;
      },
    };
    const client = new LanguageClient('cartlsp', 'cartlsp', serverOptions, clientOptions);
    client.onNotification(STATUS_METHOD, (s: CartridgeStatus) => this.onStatus(s));
    // The server's model error is shown by the fix-it message, with its actions.
    client.onNotification(ShowMessageNotification.type, (m) => {
      if (isModelError(m.message)) {
        this.showModelFix(modelFixFor(m.message));
        return;
      }
      const show = m.type === MessageType.Error ? vscode.window.showErrorMessage : m.type === MessageType.Warning ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      void show(m.message);
    });
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) {
        this.showView(formatStopped('the server stopped (cartlsp: Restart the server starts it again)'));
      } else if (e.newState === State.Starting) {
        this.showView(formatStopped('starting'));
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.output.error(`cartlsp did not start: ${errorMessage(err)}`);
      this.showView(formatStopped(errorMessage(err)));
    }
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c && c.needsStop()) {
      try {
        await c.stop(5000);
      } catch (err) {
        this.output.warn(`stopping cartlsp: ${errorMessage(err)}`);
      }
    }
  }

  async restart(): Promise<void> {
    await this.starting;
    await this.stop();
    await this.start();
  }

  private resolve(setting: string): Resolution {
    const repaired = repairBundledMode(this.context.extensionPath, process.platform, process.arch);
    if (repaired) {
      this.output.info(`made ${repaired} executable`);
    }
    return resolveServerPath({
      setting,
      extensionPath: this.context.extensionPath,
      platform: process.platform,
      arch: process.arch,
      env: process.env,
      home: os.homedir(),
      workspaceFolder: this.workspaceFolder(),
    });
  }

  /** The first workspace folder inside a git repository (a monorepo's subfolder too), else the first folder. */
  private workspaceFolder(): string | undefined {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    return folders.find((f) => gitRoot(f) !== undefined) ?? folders[0];
  }

  /** The running client, started when needed; undefined (with a message) when there is none. */
  private async readyClient(): Promise<LanguageClient | undefined> {
    if (!this.client || this.client.state === State.Stopped) {
      await this.start();
    }
    const c = this.client;
    if (!c) {
      return undefined;
    }
    if (c.state === State.Starting) {
      await this.starting;
    }
    if (c.state !== State.Running) {
      void vscode.window.showErrorMessage('cartlsp is not running: see its logs (cartlsp: Open logs), or restart it (cartlsp: Restart the server).', 'Open Logs').then((p) => {
        if (p) {
          this.output.show(true);
        }
      });
      return undefined;
    }
    return c;
  }

  private async notFound(message: string): Promise<void> {
    const pick = await vscode.window.showErrorMessage(message, 'Open Settings', 'Copy Install Command');
    if (pick === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.serverPath`);
    } else if (pick === 'Copy Install Command') {
      await vscode.env.clipboard.writeText(INSTALL_COMMAND);
    }
  }

  // ---- status ----

  private onStatus(s: CartridgeStatus): void {
    this.lastStatus = s;
    this.showView(formatStatus(s));
    const fix = modelFixMessage(s);
    if (fix) {
      this.showModelFix(fix);
    }
  }

  private showView(v: { text: string; tooltip: string; severity: 'normal' | 'warning' | 'error' }): void {
    this.statusItem.text = v.text;
    const md = new vscode.MarkdownString(v.tooltip);
    md.supportThemeIcons = true;
    this.statusItem.tooltip = md;
    this.statusItem.backgroundColor =
      v.severity === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : v.severity === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  private showModelFix(message: string): void {
    if (this.modelFixShown) {
      return;
    }
    this.modelFixShown = true;
    void vscode.window.showErrorMessage(message, 'Download the Model', 'Open Settings').then((pick) => {
      if (pick === 'Download the Model') {
        void this.pullModel();
      } else if (pick === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.model`);
      }
    });
  }

  /** Runs `cartlsp model pull`, logging to the output channel, then restarts the server. */
  private async pullModel(): Promise<void> {
    const bin = this.serverPath;
    if (!bin) {
      return;
    }
    this.output.show(true);
    this.output.info(`running ${bin} model pull`);
    const code = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'cartlsp: downloading the model (cartlsp model pull)', cancellable: true },
      (_progress, token) =>
        new Promise<number | null>((resolve) => {
          const child = cp.spawn(bin, ['model', 'pull'], { stdio: ['ignore', 'pipe', 'pipe'] });
          const log = (b: Buffer) => this.output.info(b.toString().trimEnd());
          child.stdout.on('data', log);
          child.stderr.on('data', log);
          child.on('error', (err) => {
            this.output.error(`cartlsp model pull: ${err.message}`);
            resolve(null);
          });
          child.on('close', (c) => resolve(c));
          token.onCancellationRequested(() => child.kill());
        }),
    );
    if (code === 0) {
      void vscode.window.showInformationMessage('cartlsp: the model is downloaded; restarting the server.');
      await this.restart();
    } else {
      void vscode.window.showErrorMessage(`cartlsp model pull failed (exit code ${code}); see the logs. You can also run it in a terminal: ${bin} model pull`, 'Open Logs').then((p) => {
        if (p) {
          this.output.show(true);
        }
      });
    }
  }

  private async executeServerCommand<T>(command: string, args: unknown[] = []): Promise<T | undefined> {
    const client = await this.readyClient();
    if (!client) {
      return undefined;
    }
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args })) as T;
  }

  private async showStatus(): Promise<void> {
    let s: CartridgeStatus | undefined;
    try {
      s = await this.executeServerCommand<CartridgeStatus>('cartlsp.status');
    } catch (err) {
      this.output.error(`cartlsp.status: ${errorMessage(err)}`);
    }
    s = s ?? this.lastStatus;
    if (!s) {
      return;
    }
    this.onStatus(s);
    this.output.info(statusTooltip(s).replace(/\n\n/g, '\n'));
    const actions = s.state === 'ready' || s.state === 'training' ? ['Open Logs'] : ['Train Now', 'Open Logs'];
    const pick = await vscode.window.showInformationMessage(statusLine(s), ...actions);
    if (pick === 'Train Now') {
      await this.trainNow();
    } else if (pick === 'Open Logs') {
      this.output.show(true);
    }
  }

  private async pullDependencies(): Promise<void> {
    try {
      const r = await this.executeServerCommand<{ message?: string }>('cartlsp.pullDependencies');
      if (r) {
        void vscode.window.showInformationMessage(`cartlsp: ${r.message || 'done'}`);
      }
    } catch (err) {
      void vscode.window.showErrorMessage(`cartlsp: pulling dependency Cartridges failed: ${errorMessage(err)}`);
    }
  }

  private async trainNow(): Promise<void> {
    try {
      const r = await this.executeServerCommand<{ started: boolean; message?: string }>('cartlsp.train');
      if (r) {
        void vscode.window.showInformationMessage(`cartlsp: ${r.message || (r.started ? 'training started' : 'nothing to train')}`);
      }
    } catch (err) {
      void vscode.window.showErrorMessage(`cartlsp: training did not start: ${errorMessage(err)}`);
    }
  }

  // ---- questions ----

  private async askRepository(question?: string): Promise<void> {
    const q = question ?? (await vscode.window.showInputBox({ title: 'Ask about this repository', prompt: 'A question for cartlsp, answered from the Cartridge of this repository', ignoreFocusOut: true }));
    if (!q || !q.trim()) {
      return;
    }
    await this.ask(q);
  }

  private async askSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage('cartlsp: open a file and select the code to ask about.');
      return;
    }
    const sel = editor.selection;
    const client = await this.readyClient();
    if (!client) {
      return;
    }
    const params = selectionParams(client.code2ProtocolConverter.asUri(editor.document.uri), {
      start: sel.start,
      end: sel.end,
      activeLineLength: editor.document.lineAt(sel.active.line).text.length,
    });
    const q = await vscode.window.showInputBox({ title: 'Ask about the selection', value: 'What does this code do?', ignoreFocusOut: true });
    if (!q || !q.trim()) {
      return;
    }
    await this.ask(q, params, describeSelection(path.basename(editor.document.fileName), params.range));
  }

  private async ask(question: string, selection?: SelectionParams, context?: string): Promise<void> {
    const client = await this.readyClient();
    if (!client) {
      return;
    }
    const token = newAskToken();
    const stream = new AskStream(question.trim(), context);
    const cts = new vscode.CancellationTokenSource();
    this.panel.add(stream, () => cts.cancel());
    const sub = client.onProgress(askPieceType, token, (v) => {
      stream.piece(v);
    });
    const params: AskParams = askParams(question, { token, selection });
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'cartlsp: answering…', cancellable: true }, async (_p, ptoken) => {
        ptoken.onCancellationRequested(() => cts.cancel());
        const r = await client.sendRequest<AskResult>(ASK_METHOD, params, cts.token);
        stream.finish(r);
      });
    } catch (err) {
      stream.fail(err);
      if (!isCancelled(err)) {
        this.output.error(`cartridge/ask: ${errorMessage(err)}`);
      }
    } finally {
      sub.dispose();
      cts.dispose();
    }
  }

  // ---- @cartridge in the chat view ----

  registerChatParticipant(): void {
    const chat = (vscode as { chat?: typeof vscode.chat }).chat;
    if (!chat || typeof chat.createChatParticipant !== 'function') {
      return;
    }
    const participant = chat.createChatParticipant('cartlsp.cartridge', (request, _ctx, response, token) => this.chat(request, response, token));
    participant.iconPath = new vscode.ThemeIcon('database');
    this.disposables.push(participant);
  }

  private async chat(request: vscode.ChatRequest, response: vscode.ChatResponseStream, token: vscode.CancellationToken): Promise<vscode.ChatResult> {
    const client = await this.readyClient();
    if (!client) {
      response.markdown('cartlsp is not running: see **cartlsp: Open logs**, or run **cartlsp: Restart the server**.');
      return {};
    }
    if (request.command === 'status' || request.command === 'train') {
      return this.chatCommand(request.command, response);
    }
    const selection = await this.chatSelection(client, request);
    const partial = newAskToken();
    let streamed = false;
    response.progress('cartridge is answering…');
    const sub = client.onProgress(askPieceType, partial, (v) => {
      const t = pieceText(v);
      if (t !== '' && !token.isCancellationRequested) {
        streamed = true;
        response.markdown(t);
      }
    });
    try {
      const r = await client.sendRequest<AskResult>(ASK_METHOD, askParams(request.prompt, { token: partial, selection }), token);
      if (r) {
        if (!streamed && r.answer) {
          response.markdown(r.answer);
        }
        for (const ref of typeof response.reference === 'function' ? (r.references ?? []) : []) {
          response.reference(new vscode.Location(vscode.Uri.parse(ref.uri), new vscode.Position(ref.range.start.line, 0)));
        }
        const folder = this.workspaceFolder();
        const footer = resultFooter(r, folder && (gitRoot(folder) ?? folder));
        if (footer) {
          response.markdown(`\n\n${footer}`);
        }
      }
      return {};
    } catch (err) {
      if (isCancelled(err) || token.isCancellationRequested) {
        return {};
      }
      return { errorDetails: { message: `cartlsp: ${errorMessage(err)}` } };
    } finally {
      sub.dispose();
    }
  }

  /** `@cartridge /status` and `@cartridge /train`: the server's command, answered in the chat. */
  private async chatCommand(command: 'status' | 'train', response: vscode.ChatResponseStream): Promise<vscode.ChatResult> {
    try {
      if (command === 'status') {
        const s = (await this.executeServerCommand<CartridgeStatus>('cartlsp.status')) ?? this.lastStatus;
        if (s) {
          this.onStatus(s);
          response.markdown(statusTooltip(s));
        } else {
          response.markdown('cartlsp has said nothing about its state yet.');
        }
      } else {
        const r = await this.executeServerCommand<{ started: boolean; message?: string }>('cartlsp.train');
        response.markdown(r?.message || (r?.started ? 'Training started: the status bar shows its progress.' : 'Nothing to train: HEAD has its Cartridge.'));
      }
      return {};
    } catch (err) {
      return { errorDetails: { message: `cartlsp: ${errorMessage(err)}` } };
    }
  }

  /** The first #selection / #file reference of a chat request, as ask params. */
  private async chatSelection(client: LanguageClient, request: vscode.ChatRequest): Promise<SelectionParams | undefined> {
    for (const ref of request.references ?? []) {
      const v = ref.value;
      if (v instanceof vscode.Location) {
        return { textDocument: { uri: client.code2ProtocolConverter.asUri(v.uri) }, range: client.code2ProtocolConverter.asRange(v.range) };
      }
      if (v instanceof vscode.Uri && v.scheme === 'file') {
        try {
          const doc = await vscode.workspace.openTextDocument(v);
          const end = doc.lineAt(doc.lineCount - 1).range.end;
          return { textDocument: { uri: client.code2ProtocolConverter.asUri(v) }, range: { start: { line: 0, character: 0 }, end: { line: end.line, character: end.character } } };
        } catch {
          // not a text file: asked without it
        }
      }
    }
    return undefined;
  }
}

/** The git repository's root at or above dir (a `.git` directory or file), or undefined. */
export function gitRoot(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) {
      return d;
    }
    if (path.dirname(d) === d) {
      return undefined;
    }
  }
}

function lines(input: Readable, fn: (line: string) => void): void {
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', fn);
}

/** The webview that shows the questions of this session and their streamed answers. */
class AnswerPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private readonly streams: AskStream[] = [];
  private readonly cancels = new Map<AskStream, () => void>();
  private timer: NodeJS.Timeout | undefined;
  private rendering = false;
  private dirty = false;

  constructor(private readonly context: vscode.ExtensionContext) {}

  add(stream: AskStream, cancel: () => void): void {
    this.streams.push(stream);
    if (this.streams.length > 20) {
      this.streams.shift();
    }
    this.cancels.set(stream, cancel);
    stream.onUpdate((e) => {
      if (e.done) {
        this.cancels.delete(stream);
      }
      this.schedule();
    });
    this.ensurePanel();
    this.schedule();
  }

  private ensurePanel(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel('cartlsp.answers', 'cartlsp answers', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [] });
    panel.webview.html = panelPage({ nonce: nonce(), cspSource: panel.webview.cspSource });
    panel.onDidDispose(() => {
      this.panel = undefined;
      for (const cancel of this.cancels.values()) {
        cancel(); // closing the panel cancels the questions in flight
      }
      this.cancels.clear();
      this.streams.length = 0;
    });
    this.panel = panel;
  }

  /** Renders at most every 80 ms while pieces arrive. */
  private schedule(): void {
    this.dirty = true;
    if (this.timer || this.rendering) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.render();
    }, 80);
  }

  private async render(): Promise<void> {
    if (!this.panel) {
      return;
    }
    this.rendering = true;
    this.dirty = false;
    const md = renderEntries(this.streams.map((s) => s.entry));
    let html: string;
    try {
      html = (await vscode.commands.executeCommand<string>('markdown.api.render', md)) ?? fallbackHtml(md);
    } catch {
      html = fallbackHtml(md);
    }
    if (typeof html !== 'string') {
      html = `<pre>${escapeHtml(md)}</pre>`;
    }
    await this.panel?.webview.postMessage({ type: 'render', html });
    this.rendering = false;
    if (this.dirty) {
      this.schedule();
    }
  }

  dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.panel?.dispose();
  }
}
