// The one dotted-path walker every mapping uses: `a.b.0.c` walks objects by key and arrays by index;
// one `*` segment fans out over an object's keys or an array's indexes (per radio, per port, per pool).
// Only own properties are walked: a path never reaches Object.prototype (`constructor`, `__proto__`).

export interface CompiledPath {
  segments: string[];
  /** Index of the `*` segment, -1 when there is none. */
  star: number;
}

/** `a.b.c` → ['a', 'b', 'c']; the empty path is the value itself. */
export function splitPath(p: string | undefined): string[] {
  return p ? p.split('.') : [];
}

export function compilePath(p: string): CompiledPath {
  const segments = splitPath(p);
  return { segments, star: segments.indexOf('*') };
}

/** The value at `segments[from..to)` below `obj`, or undefined when the path leaves the document. */
export function getPath(obj: unknown, segments: readonly string[], from = 0, to = segments.length): unknown {
  let cur = obj;
  for (let i = from; i < to; i++) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    const seg = segments[i]!;
    if (!Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/**
 * Calls `visit` with every value a path selects and the key its `*` stood for (undefined without a
 * star; a `*` key whose rest of the path is missing gives undefined). `visit` returns false to stop: a
 * caller with a cap stops the walk early, so 100,000 radios cost the cap, not 100,000 steps. A callback
 * rather than a generator: this runs for every rule of every frame.
 */
export function select(obj: unknown, p: CompiledPath, visit: (key: string | undefined, value: unknown) => boolean): void {
  if (p.star < 0) {
    const value = getPath(obj, p.segments);
    if (value !== undefined) visit(undefined, value);
    return;
  }
  const parent = getPath(obj, p.segments, 0, p.star);
  if (typeof parent !== 'object' || parent === null) return;
  // for…in, not Object.entries: no array of every key is built before the cap can stop the walk.
  for (const key in parent as Record<string, unknown>) {
    if (!Object.hasOwn(parent, key)) continue;
    if (!visit(key, getPath((parent as Record<string, unknown>)[key], p.segments, p.star + 1))) return;
  }
}
