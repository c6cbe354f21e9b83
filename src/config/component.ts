import convict from 'convict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { OPAQUE_CHECKS, pollutingKeys, registerFormats } from './formats.js';
import { registerSecret } from '../telemetry/logger.js';
import { componentSecrets, type SecretScope } from '../telemetry/secrets.js';

/**
 * What every source and sink type declares beside its code, as a Collector factory does: its name,
 * a convict schema (with defaults and doc strings), and which keys are secrets. A secret key `x` can
 * also be given as `x_file` (a path whose content is the secret) or through `${ENV}` substitution.
 */
export interface ComponentSpec<C> {
  type: string;
  schema: () => convict.Schema<C>;
  /** Cross-field checks convict cannot express; return problems as `key: message`. */
  check?: (config: C) => string[];
}

/** Keys whose schema entry is `sensitive: true`, found by walking the schema. */
export function secretKeys(schema: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema)) {
    if (typeof v !== 'object' || v === null) continue;
    const node = v as Record<string, unknown>;
    if ('default' in node || 'format' in node) {
      if (node.sensitive === true) out.push(prefix + k);
    } else {
      out.push(...secretKeys(node, `${prefix}${k}.`));
    }
  }
  return out;
}

const OPAQUE_FORMATS = new Set(Object.keys(OPAQUE_CHECKS));

function getParent(obj: Record<string, unknown>, dotted: string): [Record<string, unknown> | undefined, string] {
  const parts = dotted.split('.');
  let cur: unknown = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur !== 'object' || cur === null) return [undefined, ''];
    cur = (cur as Record<string, unknown>)[p];
  }
  return [typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>) : undefined, parts[parts.length - 1]!];
}

function schemaFormat(schema: Record<string, unknown>, dotted: string): unknown {
  let node: unknown = schema;
  for (const p of dotted.split('.')) node = (node as Record<string, unknown> | undefined)?.[p];
  return (node as { format?: unknown } | undefined)?.format;
}

/** Replaces `secret_file: /path` by `secret: <content>` for every secret key, in place. */
function resolveSecretFiles(raw: Record<string, unknown>, schema: Record<string, unknown>, keys: string[], path: string, problems: string[]): void {
  for (const key of keys) {
    const [parent, leaf] = getParent(raw, key);
    if (!parent) continue;
    const fileKey = `${leaf}_file`;
    if (parent[fileKey] === undefined) continue;
    if (parent[leaf] !== undefined && parent[leaf] !== '') {
      problems.push(`${path}.${key}: give either ${leaf} or ${fileKey}, not both`);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(String(parent[fileKey]), 'utf8');
    } catch (err) {
      problems.push(`${path}.${key}_file: cannot read ${String(parent[fileKey])}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      delete parent[fileKey];
      continue;
    }
    if (schemaFormat(schema, key) === 'string-map') {
      // A map secret (headers) is a YAML or JSON map in its file: `Authorization: Bearer …`.
      try {
        const map: unknown = parseYaml(text) ?? {};
        const bad: string[] = [];
        pollutingKeys(map, `${path}.${key}_file`, bad);
        if (bad.length) problems.push(...bad);
        else parent[leaf] = map;
      } catch (err) {
        problems.push(`${path}.${key}_file: ${String(parent[fileKey])} is not a YAML or JSON map: ${(err as Error).message.split('\n')[0]}`);
      }
    } else {
      // Trailing newlines are an artefact of `echo > file` and of Kubernetes secrets, never part of a token.
      parent[leaf] = text.replace(/[\r\n]+$/, '');
    }
    delete parent[fileKey];
  }
}

// convict reports `key: message: value was X` per problem and `configuration param 'k' not declared`
// for unknown keys; rewrite both to carry the full path from the top of the file.
// A map where a value belongs reads "missing from config, did you override its parent?", and a key
// convict cannot address (empty, or under a non-map) "cannot find configuration param"; both are
// rewritten too. A key segment that is empty or holds spaces or colons is shown quoted (" ").
export function rewriteConvictErrors(message: string, path: string): string[] {
  const at = (key: string) => {
    const k = key.split('.').map((s) => (/^[\w\-/$@*\[\]]+$/.test(s) ? s : JSON.stringify(s))).join('.');
    return path ? `${path}.${k}` : k;
  };
  return message.split('\n').filter(Boolean).map((line) => {
    const undeclared = /configuration param '([^']*)' not declared in the schema/.exec(line);
    if (undeclared) return `${at(undeclared[1]!)}: unknown key`;
    const overridden = /configuration param '([^']*)' missing from config, did you override its parent\?/.exec(line);
    if (overridden) return `${at(overridden[1]!)}: must be a single value, not a map`;
    const unknown = /cannot find configuration param '([^']*)'/.exec(line);
    if (unknown) return `${at(unknown[1]!.replace(/^\./, ''))}: unknown key`;
    const [key, ...rest] = line.replace(/: value was .*$/, '').split(': ');
    return rest.length ? `${at(key!)}: ${rest.join(': ')}` : `${path || '(top level)'}: ${line}`;
  });
}

/** A header value and, for `<scheme> <credential>` (Bearer, Token, Basic), the credential alone, which a peer may echo. */
function registerHeaderSecret(v: string, scope: SecretScope): void {
  registerSecret(v, scope);
  const m = /^[A-Za-z][\w-]*\s+(\S+)$/.exec(v);
  if (m) registerSecret(m[1], scope);
}

/** Every value of every `headers` map (a sink's, a source's, a login request's) is a secret. */
function registerHeaderValues(node: unknown, scope: SecretScope): void {
  if (typeof node !== 'object' || node === null) return;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'headers' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const x of Object.values(v)) if (typeof x === 'string') registerHeaderSecret(x, scope);
    } else if (typeof v === 'object') registerHeaderValues(v, scope);
  }
}

/** Validates one `sources[i]` / `sinks[i]` entry against its component's schema; returns problems. */
export function validateComponent<C>(spec: ComponentSpec<C>, raw: Record<string, unknown>, path: string): { config?: C; problems: string[] } {
  registerFormats();
  const problems: string[] = [];
  const schema = spec.schema() as unknown as Record<string, unknown>;
  const secrets = secretKeys(schema);
  resolveSecretFiles(raw, schema, secrets, path, problems);
  if (problems.length) return { problems };
  // Maps whose keys are data (resource attributes like `deployment.environment.name`, headers) must
  // not reach convict, which reads dots in keys as nesting; they are checked by their format directly.
  const opaque = new Map<string, unknown>();
  for (const [k, node] of Object.entries(schema)) {
    const fmt = (node as { format?: unknown }).format;
    if (typeof fmt !== 'string' || !OPAQUE_FORMATS.has(fmt) || raw[k] === undefined) continue;
    try {
      OPAQUE_CHECKS[fmt]!(raw[k]);
      opaque.set(k, raw[k]);
    } catch (err) {
      problems.push(`${path}.${k}: ${(err as Error).message}`);
    }
    delete raw[k];
  }
  if (problems.length) return { problems };
  const conf = convict(spec.schema(), { env: {}, args: [] });
  try {
    conf.load(raw as Partial<C>);
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    return { problems: rewriteConvictErrors((err as Error).message, path) };
  }
  const config = { ...(conf.getProperties() as object), ...Object.fromEntries(opaque) } as C;
  // The component's own scope: its context carries the same one (componentSecrets is keyed by kind and name).
  const scope = componentSecrets(path.startsWith('sinks') ? 'sink' : 'source', String((config as { name?: unknown }).name ?? path));
  for (const key of secrets) {
    const [parent, leaf] = getParent(config as Record<string, unknown>, key);
    if (!parent) continue;
    const v = parent[leaf];
    if (typeof v === 'string') registerSecret(v, scope);
    // A map of secrets (headers): every value is one.
    else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) if (typeof x === 'string') registerSecret(x, scope);
  }
  registerHeaderValues(config, scope);
  for (const p of spec.check?.(config) ?? []) problems.push(`${path}.${p}`);
  return { config, problems };
}
