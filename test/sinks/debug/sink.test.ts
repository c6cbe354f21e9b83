import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { debugSink } from '../../../src/sinks/debug/sink.js';
import { fileSink } from '../../../src/sinks/file/sink.js';
import { validateComponent } from '../../../src/config/component.js';

// Which sinks take stdout decides where the daemon's own logs go (stderr then); the line format is
// tested in test/encoding/debug_text.test.ts, the demo's output in test/cli.test.ts.

describe('debug sink', () => {
  it('writes to stdout by default, so the daemon logs to stderr; stream: stderr leaves stdout to the logs', () => {
    const dflt = validateComponent(debugSink, { name: 'd', type: 'debug' }, 'sinks[0]');
    assert.deepEqual(dflt.problems, []);
    assert.equal(dflt.config!.stream, 'stdout');
    assert.equal(debugSink.usesStdout!(dflt.config!), true);
    const err = validateComponent(debugSink, { name: 'd', type: 'debug', stream: 'stderr' }, 'sinks[0]');
    assert.equal(debugSink.usesStdout!(err.config!), false);
    const bad = validateComponent(debugSink, { name: 'd', type: 'debug', stream: 'tty' }, 'sinks[0]');
    assert.equal(bad.problems.length, 1);
    assert.match(bad.problems[0]!, /^sinks\[0\]\.stream: /);
  });

  it('the file sink takes stdout only with path "-"', () => {
    const f = (path: string) => fileSink.usesStdout!(validateComponent(fileSink, { name: 'f', type: 'file', path }, 'sinks[0]').config!);
    assert.equal(f('-'), true);
    assert.equal(f('/tmp/out.json'), false);
  });
});
