import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig, parseConfigText } from '../../src/config/load.js';
import { readFileSync } from 'node:fs';

// Every shipped example must stay valid as the schemas change. `*_file` secrets point at paths that do
// not exist here, so they are swapped for inline values before validation; TLS files (read at
// validate) are swapped for a file that exists.
const DIR = fileURLToPath(new URL('../../../config/examples/', import.meta.url));
const PEM = join(mkdtempSync(join(tmpdir(), 'ws2otel-examples-')), 'stand-in.pem');
writeFileSync(PEM, '');

function inlineSecretFiles(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(inlineSecretFiles);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (/^(ca|cert|key)_file$/.test(k) && typeof x === 'string' && x !== '') out[k] = PEM;
    else if (k.endsWith('_file') && typeof x === 'string' && x.startsWith('/run/')) out[k.slice(0, -5)] = k === 'headers_file' ? {} : 'example-secret';
    else out[k] = inlineSecretFiles(x);
  }
  return out;
}

describe('config/examples', () => {
  for (const file of readdirSync(DIR).filter((f) => /\.(ya?ml|json)$/.test(f))) {
    it(`${file} is a valid config`, () => {
      const text = readFileSync(join(DIR, file), 'utf8');
      const doc = inlineSecretFiles(parseConfigText(text, file));
      // Variables with a `:-default` take it; those without one (the secrets) get a stand-in value.
      const env: NodeJS.ProcessEnv = {};
      for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[m[1]!] = 'example-secret-value';
      assert.ok(buildConfig(doc, env).sources.length > 0);
    });
  }
});
