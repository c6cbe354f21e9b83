/**
 * Scale-out: N replicas share one config and split its sources between them, each source served by
 * exactly one replica, chosen by a stable hash of its name (so adding a source moves no other). The
 * replica's index and the count come from WS2OTEL_REPLICA_INDEX / WS2OTEL_REPLICA_COUNT, or, in a
 * Kubernetes StatefulSet, the index from the pod name's ordinal suffix (ws2otel-2 → 2).
 */
export interface Shard {
  index: number;
  count: number;
}

/** FNV-1a, 32 bit: stable across processes, versions and platforms, unlike any runtime hash. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function shardFromEnv(env: NodeJS.ProcessEnv): Shard {
  const count = Number(env.WS2OTEL_REPLICA_COUNT ?? 1);
  let index = env.WS2OTEL_REPLICA_INDEX !== undefined && env.WS2OTEL_REPLICA_INDEX !== '' ? Number(env.WS2OTEL_REPLICA_INDEX) : NaN;
  if (Number.isNaN(index)) {
    const ordinal = /-(\d+)$/.exec(env.HOSTNAME ?? '');
    index = count > 1 && ordinal ? Number(ordinal[1]) : 0;
  }
  if (!Number.isInteger(count) || count < 1) throw new Error(`WS2OTEL_REPLICA_COUNT must be a whole number ≥ 1, got ${String(env.WS2OTEL_REPLICA_COUNT)}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`replica index ${index} is outside 0..${count - 1}`);
  return { index, count };
}

export function servedHere(source: string, shard: Shard): boolean {
  return shard.count === 1 || fnv1a(source) % shard.count === shard.index;
}
