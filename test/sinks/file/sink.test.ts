import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../../../src/sinks/file/sink.js';
import { RetryableError } from '../../../src/sinks/sink.js';
import { Points, type Envelope } from '../../../src/model.js';
import { sendEnvelopes } from '../../helpers/capture.js';

const env: Envelope = {
  source: 's', resource: { 'device.id': 'd1' }, scope: { name: 'ws2otel/test', version: '0' }, receivedMs: 0, logs: [],
  metrics: Points.of([{ name: 'x', unit: '1', description: '', kind: 'gauge', int: false, value: 1, timeMs: 1000, startTimeMs: 0, attributes: {} }]),
};

describe('file sink', () => {
  it('turns a missing directory into a retryable send failure and writes once the directory exists', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ws2otel-file-')), 'later');
    const path = join(dir, 'out.jsonl');
    const sink = new FileSink({ name: 'f', type: 'file', path } as any);
    await assert.rejects(sendEnvelopes(sink, [env]), (err: unknown) => err instanceof RetryableError && /ENOENT/.test((err as Error).message));
    await assert.rejects(sendEnvelopes(sink, [env]), RetryableError, 'still failing, not "write after destroyed" or a hang');
    mkdirSync(dir);
    await sendEnvelopes(sink, [env]);
    await sink.close();
    assert.match(readFileSync(path, 'utf8'), /"resourceMetrics"/);
  });
});
