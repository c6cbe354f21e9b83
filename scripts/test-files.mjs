// Lists the compiled test files, one per line, for `npm test` (all) and `npm run test:unit` (unit).
// A test is a unit test when it starts no real peer and needs no provisioned tool: it lies outside the
// folders of the packaging proofs (deploy, docker, systemd) and of the end-to-end suites (e2e), and it
// imports nothing from the helpers that start the Collector, a Kafka broker or the e2e pipeline, nor
// the daemon-process helper (importing only its CLI path, to run `ws2otel validate`, is fine).
// Deciding by imports keeps the split true as tests are added, without a list to maintain.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const ROOT = join(import.meta.dirname, '..', 'dist', 'test');
const PEER_FOLDERS = ['e2e', 'deploy', 'docker', 'systemd'];
const HELPER_IMPORT = /import \{([^}]*)\} from ['"][./]*helpers\/(collector|kafka|e2e|daemon)\.js['"]/g;

function startsPeers(js) {
  for (const [, names, helper] of js.matchAll(HELPER_IMPORT)) {
    if (helper !== 'daemon' || /\bDaemonProcess\b/.test(names)) return true;
  }
  return false;
}

function* walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.test.js')) yield p;
  }
}

const unitOnly = process.argv[2] === 'unit';
const files = [...walk(ROOT)].sort().filter((f) => {
  if (!unitOnly) return true;
  if (PEER_FOLDERS.includes(relative(ROOT, f).split(sep)[0])) return false;
  return !startsPeers(readFileSync(f, 'utf8'));
});
process.stdout.write(files.map((f) => relative(process.cwd(), f)).join('\n') + '\n');
