import type { MetricPoint } from '../model.js';

// Which points an OTLP Metric holds: those of one name, kind, unit, int-ness and description. Both OTLP
// encoders (protobuf and JSON) group by this one rule, so their requests say the same.

export function sameMetric(a: MetricPoint, b: MetricPoint): boolean {
  return a.name === b.name && a.kind === b.kind && a.unit === b.unit && a.int === b.int && a.description === b.description;
}

/** The points as Metrics: groups in order of each one's first point, points in arrival order within a group. */
export function groupByMetric(points: readonly MetricPoint[]): MetricPoint[][] {
  const byName = new Map<string, MetricPoint[][]>();
  const order: MetricPoint[][] = [];
  for (const p of points) {
    let named = byName.get(p.name);
    if (!named) byName.set(p.name, (named = []));
    const g = named.find((x) => sameMetric(x[0]!, p));
    if (g) g.push(p);
    else {
      named.push([p]);
      order.push(named[named.length - 1]!);
    }
  }
  return order;
}
