import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * Runs `body` with a fresh tmpfs of `size` (256 KiB unless told) mounted at the directory it is given, so that a disk can
 * really fill (ENOSPC); unmounted after, however `body` ends. Mounting needs root (CI runs as root):
 * elsewhere the test is skipped, saying so.
 */
export async function onSmallTmpfs(t: TestContext, body: (dir: string) => Promise<void>, size = '256k'): Promise<void> {
  const mnt = mkdtempSync(join(tmpdir(), 'ws2otel-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    t.skip('mounting a small tmpfs needs root (CI runs as root)');
    return;
  }
  try {
    await body(mnt);
  } finally {
    execFileSync('umount', ['-l', mnt]); // lazy: a failed run may leave a buffer's files open
  }
}
