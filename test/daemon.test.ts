import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../src/config/load.js';
import { Daemon } from '../src/daemon.js';

describe('daemon start', () => {
  it('names the key when a disk buffer cannot be opened at start (data_dir broke after validation)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws2otel-daemon-start-'));
    const dataDir = join(dir, 'state');
    const config = buildConfig({
      log_level: 'silent',
      http: { address: '' },
      data_dir: dataDir,
      sources: [{ name: 'm', type: 'mist', url: 'ws://127.0.0.1:1/x', token: 'tok-123456', channels: ['/sites/s/stats/devices'] }],
      sinks: [{ name: 'o', type: 'otlp_http', endpoint: 'http://127.0.0.1:1', buffer: { type: 'disk' } }],
    }, {});
    writeFileSync(dataDir, 'now a file, not a directory');
    const daemon = new Daemon(config);
    await assert.rejects(daemon.start(), /^Error: sinks\[0\]\.buffer: cannot open the disk buffer under data_dir .*state: (EEXIST|ENOTDIR)$/);
    await daemon.stop();
  });
});
