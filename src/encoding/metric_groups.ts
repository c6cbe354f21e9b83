import type { Points } from '../model.js';

// Which points an OTLP Metric holds: those of one name, kind, unit, int-ness and description. Both OTLP
// encoders (protobuf and JSON) group by this one rule, so their requests say the same.

/** Whether points i and j belong to one Metric. */
export function sameMetric(pts: Points, i: number, j: number): boolean {
  const a = pts.desc[i]!;
  const b = pts.desc[j]!;
  const same = a === b || (a.name === b.name && a.kind === b.kind && a.unit === b.unit && a.description === b.description);
  return same && pts.isInt(i) === pts.isInt(j);
}

/** The points as Metrics, each a list of point indices: groups in order of each one's first point, points in arrival order within a group. */
export function groupByMetric(pts: Points): number[][] {
  const byName = new Map<string, number[][]>();
  const order: number[][] = [];
  for (let i = 0; i < pts.length; i++) {
    const name = pts.desc[i]!.name;
    let named = byName.get(name);
    if (!named) byName.set(name, (named = []));
    const g = named.find((x) => sameMetric(pts, x[0]!, i));
    if (g) g.push(i);
    else {
      named.push([i]);
      order.push(named[named.length - 1]!);
    }
  }
  return order;
}
