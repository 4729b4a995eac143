// The cartlsp settings section → the server's configuration object
// (initializationOptions; docs/LSP.md "Configuration"). No vscode import.

/** The settings the extension reads itself and does not send. */
const clientOnly = new Set(['serverPath', 'trace']);

/** The fields the server knows, with the types it accepts. */
const serverFields: Record<string, 'string' | 'int' | 'bool' | 'strings' | 'object'> = {
  model: 'string',
  budget: 'string',
  p: 'int',
  device: 'string',
  dependencies: 'strings',
  dependencyTokens: 'int',
  registry: 'string',
  registryPlainHttp: 'bool',
  registryVerifyKey: 'string',
  trainBesideDependencies: 'bool',
  method: 'string',
  exclude: 'strings',
  autoTrain: 'bool',
  store: 'string',
  threads: 'int',
  inContextTokens: 'int',
  ask: 'object',
  completion: 'object',
  hover: 'object',
};

export type ServerSettings = Record<string, unknown>;

/**
 * The initializationOptions for a settings section: the fields the server
 * knows, without the client's own (serverPath, trace) and without empty values
 * (an empty model or store means the server's default, so it is left out);
 * nested sections (ask, completion, hover) keep their numeric, boolean and string-list fields. Fields the
 * server does not know are left out.
 */
export function toInitializationOptions(section: Record<string, unknown> | undefined | null): ServerSettings {
  const out: ServerSettings = {};
  if (!section || typeof section !== 'object') {
    return out;
  }
  for (const [key, value] of Object.entries(section)) {
    if (clientOnly.has(key) || value === undefined || value === null || typeof value === 'function') {
      continue;
    }
    const kind = serverFields[key];
    switch (kind) {
      case 'string':
        if (typeof value === 'string' && value.trim() !== '') {
          out[key] = value.trim();
        }
        break;
      case 'int':
        if (typeof value === 'number' && Number.isFinite(value)) {
          out[key] = Math.trunc(value);
        }
        break;
      case 'bool':
        if (typeof value === 'boolean') {
          out[key] = value;
        }
        break;
      case 'strings':
        if (Array.isArray(value)) {
          out[key] = value.filter((v): v is string => typeof v === 'string' && v.trim() !== '').map((v) => v.trim());
        }
        break;
      case 'object':
        if (typeof value === 'object' && !Array.isArray(value)) {
          const sub: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            if (typeof v === 'number' && Number.isFinite(v)) {
              sub[k] = Math.trunc(v);
            } else if (typeof v === 'boolean') {
              sub[k] = v;
            } else if (Array.isArray(v)) {
              sub[k] = v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
            }
          }
          if (Object.keys(sub).length > 0) {
            out[key] = sub;
          }
        }
        break;
      default:
      // A field the server does not know: left out (a server before the one
      // that ignores unknown fields refused them).
    }
  }
  return out;
}

/**
 * The settings the extension contributes that the server reads, dotted as
 * in package.json (cartlsp.<key>).
 */
export const serverKeys = [
  'model', 'budget', 'method', 'p', 'device', 'exclude', 'dependencies', 'dependencyTokens', 'registry',
  'registryPlainHttp', 'registryVerifyKey', 'trainBesideDependencies', 'autoTrain', 'store', 'threads',
  'inContextTokens', 'ask.maxTokens', 'hover.enable', 'completion.enable', 'completion.disabledLanguages', 'completion.maxTokens', 'completion.latencyMs', 'completion.contextTokens',
];

/** What WorkspaceConfiguration.inspect says of a key (the scopes that may set it). */
export type Inspected = { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined;

/**
 * The server's settings from the values the user set (in user, workspace or
 * folder settings; the package's defaults are not sent): a setting the user
 * did not set is null, which the server reads as "the configuration files'
 * value, else its default" (docs/CONFIG.md), so that a repository's
 * .cartlsp.toml applies unless the editor overrides it, and a setting taken
 * out returns to it.
 */
export function explicitSettings(inspect: (key: string) => Inspected): ServerSettings {
  const section: Record<string, unknown> = {};
  for (const key of serverKeys) {
    const i = inspect(key);
    const v = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
    if (v !== undefined) {
      setPath(section, key, v);
    }
  }
  const out = toInitializationOptions(section);
  for (const key of serverKeys) {
    const [top, sub] = key.split('.');
    if (sub === undefined) {
      if (!(top in out)) {
        out[top] = null;
      }
      continue;
    }
    const o = (out[top] ?? {}) as Record<string, unknown>;
    if (!(sub in o)) {
      o[sub] = null;
    }
    out[top] = o;
  }
  return out;
}

function setPath(obj: Record<string, unknown>, key: string, v: unknown): void {
  const [top, sub] = key.split('.');
  if (sub === undefined) {
    obj[top] = v;
    return;
  }
  const o = (typeof obj[top] === 'object' && obj[top] !== null ? obj[top] : {}) as Record<string, unknown>;
  o[sub] = v;
  obj[top] = o;
}

/** A plain JSON copy of a configuration object (VS Code's WorkspaceConfiguration has methods). */
export function plainSection(config: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(config ?? {})) as Record<string, unknown>;
}

/** Whether a configuration change needs the server restarted (its binary changed). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return affects('cartlsp.serverPath');
}
