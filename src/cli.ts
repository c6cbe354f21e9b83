#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from './config/load.js';
import { ConfigError } from './config/errors.js';
import { Daemon } from './daemon.js';
import { shardFromEnv } from './sharding.js';
import { selfMetrics } from './telemetry/metrics.js';
import { VERSION } from './version.js';

const DEMO_VENDORS = ['mist', 'smc', 'nxapi', 'sysadm'];

const USAGE = `ws2otel ${VERSION}: vendor WebSocket streams → OpenTelemetry metrics and logs

Usage:
  ws2otel run --config FILE          run the daemon
  ws2otel validate --config FILE     check a config; exit 1 naming each bad key
  ws2otel simulate VENDOR [--port N] …
                                     serve a vendor simulator (mist, smc, nxapi, sysadm, websocket);
                                     \`ws2otel simulate VENDOR --help\` lists its flags
  ws2otel demo                       run the daemon on config/demo.yaml against the built-in simulators
                                     of Mist, SMC, NX-API and sysadm
  ws2otel tap [--address HOST:PORT] [--source NAME] [--limit N]
                                     stream a running daemon's mapped events (needs http.tap: true)
  ws2otel version

Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the config file.
Scale-out: WS2OTEL_REPLICA_INDEX / WS2OTEL_REPLICA_COUNT split the sources between replicas.
`;

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function readConfig(file: string | undefined): Config {
  if (!file) fail('--config FILE is required\n\n' + USAGE, 2);
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid config ${file}:\n  ${err.problems.join('\n  ')}`);
    throw err;
  }
}

async function runDaemon(config: Config, configFile: string, onStopped?: () => Promise<void>): Promise<void> {
  let shard;
  try {
    shard = shardFromEnv(process.env);
  } catch (err) {
    fail(`invalid replica settings: ${(err as Error).message}`);
  }
  let daemon: Daemon;
  try {
    daemon = new Daemon(config, shard);
  } catch (err) {
    fail(`cannot start: ${(err as Error).message}`);
  }
  let signals = 0;
  const shutdown = (sig: string) => {
    if (++signals > 1) {
      daemon.log.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(1);
    }
    daemon.stop().then(
      async () => {
        await onStopped?.();
        process.exit(0);
      },
      (err: Error) => {
        daemon.log.error({ err: err.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP: re-read the config; a bad one is logged and the running one stays.
  process.on('SIGHUP', () => {
    let next: Config;
    try {
      next = loadConfig(configFile);
    } catch (err) {
      selfMetrics.reloads.labels('rejected').inc();
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      daemon.log.error({ problems }, 'reload refused: the new config is invalid; the running config stays');
      return;
    }
    daemon.reload(next).catch((err: Error) => daemon.log.error({ err: err.message }, 'reload failed'));
  });
  // A closed stdout (the reader went away) must neither kill the daemon nor turn into an error that is
  // logged to that same stdout, again and again.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  process.on('uncaughtException', (err) => {
    // A bug, not bad input (bad input is counted where it enters): log it and keep the other sources going.
    daemon.log.error({ err: err.stack ?? String(err) }, 'uncaught exception');
  });
  try {
    await daemon.start();
  } catch (err) {
    daemon.log.fatal({ err: (err as Error).message }, 'cannot start');
    fail(`cannot start: ${(err as Error).message}`);
  }
}

/** `ws2otel tap`: print a running daemon's mapped events as JSON lines. */
async function tap(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { address: { type: 'string', default: '127.0.0.1:8686' }, source: { type: 'string', default: '' }, limit: { type: 'string', default: '0' } },
  });
  const url = `http://${values.address}/tap?source=${encodeURIComponent(values.source!)}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    fail(`cannot reach ${values.address}: ${(err as { cause?: { code?: string } }).cause?.code ?? String(err)}`);
  }
  if (!res.ok || !res.body) fail(`tap refused: HTTP ${res.status} ${(await res.text()).trim()}`);
  const limit = Number(values.limit);
  let n = 0;
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      process.stdout.write(line + '\n');
      if (limit > 0 && ++n >= limit) process.exit(0);
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'version':
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return;
    case 'validate': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      const config = readConfig(values.config);
      process.stdout.write(`config ${values.config} is valid: ${config.sources.length} source(s), ${config.sinks.length} sink(s)\n`);
      return;
    }
    case 'run': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      await runDaemon(readConfig(values.config), values.config!);
      return;
    }
    case 'tap':
      await tap(rest);
      return;
    case 'simulate': {
      // The simulators load only for the commands that run them: `run` does not carry them.
      const { simulators } = await import('./simulators/index.js');
      const [vendor, ...flags] = rest;
      const spec = vendor ? simulators[vendor] : undefined;
      if (!spec) fail(`unknown simulator ${JSON.stringify(vendor)} (known: ${Object.keys(simulators).join(', ')})`, 2);
      if (flags.includes('--help')) {
        const lines = Object.entries(spec.options).map(([k, o]) => `  --${k} (default ${String(o.default)})`);
        process.stdout.write(`ws2otel simulate ${spec.vendor}\n${lines.join('\n')}\n`);
        return;
      }
      const { values } = parseArgs({ args: flags, options: spec.options });
      const sim = await spec.start(values);
      process.stderr.write(`${spec.vendor} simulator on ${sim.url}\n`);
      const stop = () => void sim.stop().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      return;
    }
    case 'demo': {
      // Every vendor simulator on a free loopback port, with its default credentials; the demo
      // config reads their addresses from WS2OTEL_DEMO_<VENDOR>_URL.
      const { simulators } = await import('./simulators/index.js');
      const running: { stop(): Promise<void> }[] = [];
      for (const vendor of DEMO_VENDORS) {
        const spec = simulators[vendor]!;
        const defaults = Object.fromEntries(Object.entries(spec.options).map(([k, o]) => [k, o.default]));
        const sim = await spec.start({ ...defaults, port: '0' });
        process.env[`WS2OTEL_DEMO_${vendor.toUpperCase()}_URL`] = sim.url;
        running.push(sim);
      }
      const demo = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));
      await runDaemon(readConfig(demo), demo, async () => {
        await Promise.all(running.map((s) => s.stop()));
      });
      return;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).catch((err: Error) => fail(err.stack ?? String(err)));
