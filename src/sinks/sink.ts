import type convict from 'convict';
import type { Envelope } from '../model.js';
import type { Logger } from '../telemetry/logger.js';
import type { SecretScope } from '../telemetry/secrets.js';
import type { ComponentSpec } from '../config/component.js';
import { ExportRequest } from '../pipeline/request.js';
import { checkPipelineSettings, pipelineSchema, type PipelineSettings, type WhenFull } from '../pipeline/settings.js';

// Lives in net/ (the HTTP client throws it, and net/ imports nothing from sinks/); re-exported for the sinks.
export { RetryableError } from '../net/errors.js';

/**
 * The sink refused the request for good (OTLP 400, a record too large): retrying cannot help.
 * `rejected`: the sink knows exactly which envelopes it refused and delivered all the others; only
 * those are dead-lettered. Otherwise, when `splittable` (the default: the refusal may be about one
 * envelope's content), the exporter splits the request in halves and sends each, down to the single
 * envelopes the peer refuses; `splittable: false` (a refusal of any request, such as 401 or 404)
 * dead-letters the whole request at once.
 */
export class PermanentError extends Error {
  readonly rejected: readonly Envelope[] | undefined;
  readonly splittable: boolean;

  constructor(message: string, opts: { rejected?: readonly Envelope[]; splittable?: boolean } = {}) {
    super(message);
    this.name = 'PermanentError';
    this.rejected = opts.rejected;
    this.splittable = opts.splittable ?? true;
  }
}

export interface SinkContext {
  log: Logger;
  /** The sink's secret scope (its config-time secrets are in it; the logger scrubs every live scope). */
  secrets?: SecretScope;
}

/**
 * Encodes and delivers one request; resolves only when the peer confirmed all of it. Retries,
 * splitting and dead letters are the pipeline's: a sink throws RetryableError or PermanentError and
 * records on the request what was already accepted (see ExportRequest), so a retry sends only the rest.
 */
export interface Sink {
  readonly name: string;
  send(request: ExportRequest, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface SinkFactory<C extends CommonSinkConfig = CommonSinkConfig> extends ComponentSpec<C> {
  create(config: C, ctx: SinkContext): Sink;
  /** True when a sink so configured writes to the process's stdout (the daemon's logs then go to stderr). */
  usesStdout?(config: C): boolean;
}

export type { WhenFull };
export { ExportRequest };

/** Keys every sink entry has: its name, what it reads, and the pipeline's batch, buffer and retry settings. */
export interface CommonSinkConfig extends PipelineSettings {
  name: string;
  type: string;
  inputs: string[];
  log_level?: string;
}

/** Checks every sink's common keys get, whatever its type. */
export function checkCommonSink(c: CommonSinkConfig): string[] {
  return checkPipelineSettings(c);
}

export function commonSinkSchema(type: string): convict.Schema<CommonSinkConfig> {
  return {
    name: { doc: 'Unique name of this sink', format: 'required-string', default: '' },
    type: { doc: 'Sink type', format: [type], default: type },
    log_level: { doc: "This sink's log level; empty: the daemon's", format: ['', 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: '' },
    inputs: { doc: 'Names of the sources this sink receives; empty: all of them', format: Array, default: [] },
    ...pipelineSchema(),
  };
}
