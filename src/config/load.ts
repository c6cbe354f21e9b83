import convict from 'convict';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { rewriteConvictErrors, validateComponent, type ComponentSpec } from './component.js';
import { pollutingKeys, registerFormats } from './formats.js';
import { daemonSchema, type DaemonSettings } from './schema.js';
import { sourceFactories } from '../sources/index.js';
import { sinkFactories } from '../sinks/index.js';
import { checkCommonSource, type CommonSourceConfig, type SourceFactory } from '../sources/source.js';
import { parseListenAddress, unwritableDir } from './paths.js';
import { checkCommonSink, type CommonSinkConfig, type SinkFactory } from '../sinks/sink.js';

export interface SourceEntry {
  factory: SourceFactory<CommonSourceConfig>;
  config: CommonSourceConfig;
}

export interface SinkEntry {
  factory: SinkFactory<CommonSinkConfig>;
  config: CommonSinkConfig;
}

export interface Config extends DaemonSettings {
  sources: SourceEntry[];
  sinks: SinkEntry[];
}

const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$\{/g;

/** `${VAR}`, `${VAR:-default}` in every string value; `$${` stands for a literal `${`. */
export function substituteEnv(value: unknown, path: string, env: NodeJS.ProcessEnv, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_RE, (whole, name: string | undefined, def: string | undefined) => {
      if (whole === '$${') return '${';
      const v = env[name!];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      problems.push(`${path}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, `${path}[${i}]`, env, problems));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, path ? `${path}.${k}` : k, env, problems);
    return out;
  }
  return value;
}

export function parseConfigText(text: string, file: string): unknown {
  try {
    return extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError([`${file}: not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`]);
  }
}

function entries<C extends { name: string }>(
  list: unknown,
  key: 'sources' | 'sinks',
  registry: Record<string, ComponentSpec<C>>,
  problems: string[],
): { spec: ComponentSpec<C>; config: C }[] {
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`${key}: must be a non-empty list`);
    return [];
  }
  const out: { spec: ComponentSpec<C>; config: C }[] = [];
  const names = new Set<string>();
  list.forEach((raw, i) => {
    const path = `${key}[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return problems.push(`${path}: must be a map`);
    const type = (raw as { type?: unknown }).type;
    const spec = typeof type === 'string' ? registry[type] : undefined;
    if (!spec) {
      return problems.push(`${path}.type: ${type === undefined ? 'is required' : `unknown type ${JSON.stringify(type)}`} (known: ${Object.keys(registry).join(', ')})`);
    }
    const { config, problems: p } = validateComponent(spec, { ...(raw as Record<string, unknown>) }, path);
    problems.push(...p);
    if (!config) return;
    if (names.has(config.name)) problems.push(`${path}.name: ${JSON.stringify(config.name)} is used twice`);
    names.add(config.name);
    out.push({ spec, config });
  });
  return out;
}

/** Parses and validates a whole config document; throws ConfigError listing every problem by key path. */
export function buildConfig(doc: unknown, env: NodeJS.ProcessEnv = process.env): Config {
  registerFormats();
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(['(top level): must be a map with sources and sinks']);
  pollutingKeys(doc, '', problems);
  if (problems.length) throw new ConfigError(problems);
  const substituted = substituteEnv(doc, '', env, problems) as Record<string, unknown>;
  // A missing variable is the root cause of whatever else that key would report: say only that.
  if (problems.length) throw new ConfigError(problems);
  const { sources, sinks, ...daemonRaw } = substituted;

  let daemon: DaemonSettings | undefined;
  const conf = convict(daemonSchema(), { env, args: [] });
  try {
    conf.load(daemonRaw as Partial<DaemonSettings>);
    conf.validate({ allowed: 'strict' });
    daemon = conf.getProperties();
    if (daemon.http.address) {
      const parsed = parseListenAddress(daemon.http.address);
      if (typeof parsed === 'string') problems.push(`http.address: ${parsed}`);
    }
  } catch (err) {
    problems.push(...rewriteConvictErrors((err as Error).message, ''));
  }

  const src = entries(sources, 'sources', sourceFactories as Record<string, ComponentSpec<CommonSourceConfig>>, problems);
  const snk = entries(sinks, 'sinks', sinkFactories as Record<string, ComponentSpec<CommonSinkConfig>>, problems);
  src.forEach(({ config }, i) => {
    for (const p of checkCommonSource(config)) problems.push(`sources[${i}].${p}`);
  });
  const sourceNames = new Set(src.map((s) => s.config.name));
  snk.forEach(({ config }, i) => {
    for (const p of checkCommonSink(config)) problems.push(`sinks[${i}].${p}`);
    config.inputs.forEach((input, j) => {
      if (!sourceNames.has(input)) problems.push(`sinks[${i}].inputs[${j}]: no source is named ${JSON.stringify(input)}`);
    });
    if (daemon && config.buffer.type === 'disk') {
      const why = unwritableDir(daemon.data_dir, true);
      if (why) problems.push(`sinks[${i}].buffer.type: a disk buffer needs a writable data_dir (${why})`);
    }
  });
  if (problems.length || !daemon) throw new ConfigError(problems);
  return {
    ...daemon,
    sources: src.map(({ spec, config }) => ({ factory: spec as SourceFactory<CommonSourceConfig>, config })),
    sinks: snk.map(({ spec, config }) => ({ factory: spec as SinkFactory<CommonSinkConfig>, config })),
  };
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return buildConfig(parseConfigText(text, file), env);
}
