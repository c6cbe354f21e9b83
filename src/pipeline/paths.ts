import { createHash } from 'node:crypto';

/**
 * A sink's file-system name under data_dir (its buffer folder, its dead-letter file): the name itself
 * when it is a plain file name, else a cleaned name plus a hash of the real one, so `s/1` and `s_1`
 * never share a buffer, and `..` never leaves data_dir. Plain names keep their old folders.
 */
export function sinkFileName(name: string): string {
  if (/^[\w.-]+$/.test(name) && !/^\.+$/.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${name.replace(/[^\w-]/g, '_').slice(0, 64)}-${hash}`;
}
