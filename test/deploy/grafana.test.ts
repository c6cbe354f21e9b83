import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { prometheusName, promqlMetricNames, variableQueryMetricNames } from '../helpers/promql.js';
import { selfPrometheusNames, sourceSignalPrometheusNames, vendorMetrics, vendorPrometheusNames } from '../helpers/emitted.js';

// deploy/grafana/*.json must be dashboards Grafana imports, and every query in them must name only
// series ws2otel emits: its own /metrics (read from the prom-client registry) and the vendor metrics
// (every default mapping run through the code, named as the Collector's Prometheus exporter names them).

const DIR = fileURLToPath(new URL('../../../deploy/grafana/', import.meta.url));

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

function load(file: string): Dashboard {
  return JSON.parse(readFileSync(DIR + file, 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels included (a collapsed row holds its panels). */
function allPanels(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  const visit = (list: Panel[] | undefined) => {
    for (const p of list ?? []) {
      out.push(p);
      visit(p.panels);
    }
  };
  visit(d.panels);
  return out;
}

function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : v.query?.query ?? v.definition ?? '';
}

/** Every query of a dashboard with where it is: panel targets and query variables. */
function queries(file: string, d: Dashboard): { where: string; names: string[] }[] {
  const out: { where: string; names: string[] }[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) {
      out.push({ where: `${file}: panel ${p.id} "${p.title}" target ${t.refId}: ${t.expr}`, names: promqlMetricNames(t.expr ?? '').map((r) => r.name) });
    }
  }
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = variableQuery(v);
    out.push({ where: `${file}: variable $${v.name}: ${q}`, names: variableQueryMetricNames(q).map((r) => r.name) });
  }
  return out;
}

/** Queries naming a series not in `emitted`, as messages. */
function unknownNames(file: string, d: Dashboard, emitted: ReadonlySet<string>): string[] {
  const bad: string[] = [];
  for (const q of queries(file, d)) for (const n of q.names) if (!emitted.has(n)) bad.push(`${n} (${q.where})`);
  return bad;
}

async function emittedNames(): Promise<Set<string>> {
  const self = await selfPrometheusNames();
  return new Set([...self, ...vendorPrometheusNames().keys(), ...(await sourceSignalPrometheusNames()).keys()]);
}

describe('OpenTelemetry → Prometheus names (the Collector exporters\' defaults)', () => {
  it('appends the unit word, _total for monotonic counters and _ratio for unit-1 gauges', () => {
    assert.equal(prometheusName('smc.element.latency', 'ms', 'gauge'), 'smc_element_latency_milliseconds');
    assert.equal(prometheusName('mist.device.uptime', 's', 'gauge'), 'mist_device_uptime_seconds');
    assert.equal(prometheusName('sysadm.cpu.temperature', 'Cel', 'gauge'), 'sysadm_cpu_temperature_celsius');
    assert.equal(prometheusName('smc.element.health', '%', 'gauge'), 'smc_element_health_percent');
    assert.equal(prometheusName('nxapi.interface.io', 'By', 'counter'), 'nxapi_interface_io_bytes_total');
    assert.equal(prometheusName('nxapi.interface.oper.status', '1', 'gauge'), 'nxapi_interface_oper_status_ratio');
    assert.equal(prometheusName('requests.count', '1', 'counter'), 'requests_count_total');
  });

  it('keeps a unit word already in the name once, drops {annotations}, and splits per-units', () => {
    assert.equal(prometheusName('mist.device.tx.bytes', 'By', 'counter'), 'mist_device_tx_bytes_total');
    assert.equal(prometheusName('sysadm.zpool.dedup_ratio', '1', 'gauge'), 'sysadm_zpool_dedup_ratio');
    assert.equal(prometheusName('mist.device.clients', '{client}', 'gauge'), 'mist_device_clients');
    assert.equal(prometheusName('mist.device.tx.packets', '{packet}', 'counter'), 'mist_device_tx_packets_total');
    // `bit` is not in the Collector's unit table: it stays `bit`; `/s` becomes `per_second`.
    assert.equal(prometheusName('smc.element.traffic', 'bit/s', 'gauge'), 'smc_element_traffic_bit_per_second');
    assert.equal(prometheusName('net.io', 'By/s', 'gauge'), 'net_io_bytes_per_second');
    assert.equal(prometheusName('mist.device.radio.power', 'dBm', 'gauge'), 'mist_device_radio_power_dBm');
    // Non-monotonic sums are neither _total nor _ratio.
    assert.equal(prometheusName('queue.size', '1', 'updown'), 'queue_size');
  });
});

describe('PromQL metric-name extractor', () => {
  const names = (e: string) => promqlMetricNames(e).map((r) => r.name);

  it('finds selectors and skips functions, aggregations, grouping labels, matchers, ranges and variables', () => {
    assert.deepEqual(names('histogram_quantile(0.99, sum by (le, sink) (rate(a_bucket{sink=~"$sink", x="y"}[$__rate_interval])))'), ['a_bucket']);
    assert.deepEqual(names('sum(rate(a_total[5m])) by (source) / on (source) group_left(reason) b'), ['a_total', 'b']);
    assert.deepEqual(names('time() - c{instance=~"${instance}"} > bool 300 offset 1h'), ['c']);
    assert.deepEqual(names('topk(10, 8 * sum without (port) (rate(d[1m:10s])))'), ['d']);
    assert.deepEqual(names('e unless f and g or h'), ['e', 'f', 'g', 'h']);
    assert.deepEqual(names('{__name__="i", job="j"}'), ['i']);
    assert.deepEqual(names('1e3 * k + 0x1f - Inf + NaN'), ['k']);
    assert.deepEqual(names('label_replace(l, "dst", "$1", "src", "(.*)")'), ['l']);
  });

  it('reads label_values(selector, label) as the selector only', () => {
    assert.deepEqual(variableQueryMetricNames('label_values(m{a=~"$b"}, device_name)').map((r) => r.name), ['m']);
    assert.deepEqual(variableQueryMetricNames('label_values(device_name)'), []);
  });
});

describe('the names ws2otel emits, derived from the code', () => {
  it('reaches every metric of every vendor default table through the mappings', () => {
    for (const v of vendorMetrics()) {
      const got = new Set(v.points.map((p) => p.name));
      assert.deepEqual([...v.tableNames].filter((n) => !got.has(n)), [], `${v.vendor}: table metrics the synthetic input missed`);
    }
  });

  it('includes the up gauge every source emits through the sinks, as the Collector names it', async () => {
    assert.deepEqual([...(await sourceSignalPrometheusNames()).keys()], ['ws2otel_source_up_ratio']);
  });

  it('includes the self metrics and their histogram series', async () => {
    const self = await selfPrometheusNames();
    for (const n of ['ws2otel_source_frames_received_total', 'ws2otel_sink_export_duration_seconds_bucket', 'ws2otel_process_resident_memory_bytes']) {
      assert.ok(self.has(n), n);
    }
    assert.ok(!self.has('ws2otel_sink_export_duration_seconds'), 'a histogram has no series under its bare name');
  });
});

describe('deploy/grafana dashboards', () => {
  it('has the daemon dashboard and one per vendor', () => {
    assert.deepEqual(files, ['mist.json', 'nxapi.json', 'smc.json', 'sysadm.json', 'ws2otel.json']);
  });

  it('are dashboards Grafana imports: uid, title, schemaVersion, panels with unique ids', () => {
    const uids = new Set<string>();
    for (const file of files) {
      const d = load(file);
      assert.ok(typeof d.uid === 'string' && /^[a-zA-Z0-9_-]{1,40}$/.test(d.uid), `${file}: uid`);
      assert.ok(!uids.has(d.uid), `${file}: uid ${d.uid} is used by another dashboard`);
      uids.add(d.uid);
      assert.ok(typeof d.title === 'string' && d.title !== '', `${file}: title`);
      assert.ok(typeof d.schemaVersion === 'number' && d.schemaVersion >= 36, `${file}: schemaVersion`);
      const panels = allPanels(d);
      assert.ok(panels.length > 0, `${file}: panels`);
      const ids = panels.map((p) => p.id);
      assert.ok(ids.every((id) => Number.isInteger(id)), `${file}: every panel has an integer id`);
      assert.equal(new Set(ids).size, ids.length, `${file}: panel ids are unique`);
    }
  });

  it('take their data source from a prometheus `datasource` variable on every panel, target and query variable', () => {
    for (const file of files) {
      const d = load(file);
      const vars = d.templating?.list ?? [];
      const ds = vars.find((v) => v.name === 'datasource');
      assert.ok(ds && ds.type === 'datasource' && variableQuery(ds) === 'prometheus', `${file}: a datasource variable of type prometheus`);
      const isOurs = (x: { type?: string; uid?: string } | undefined) => x?.type === 'prometheus' && x.uid === '${datasource}';
      for (const p of allPanels(d)) {
        if (p.type === 'row') continue;
        assert.ok(isOurs(p.datasource), `${file}: panel ${p.id} "${p.title}" datasource`);
        assert.ok((p.targets ?? []).length > 0, `${file}: panel ${p.id} "${p.title}" has targets`);
        for (const t of p.targets ?? []) {
          assert.ok(isOurs(t.datasource), `${file}: panel ${p.id} target ${t.refId} datasource`);
          assert.ok(typeof t.expr === 'string' && t.expr.trim() !== '', `${file}: panel ${p.id} target ${t.refId} expr`);
        }
      }
      for (const v of vars.filter((x) => x.type === 'query')) assert.ok(isOurs(v.datasource), `${file}: variable $${v.name} datasource`);
    }
  });

  it('name in every query only series ws2otel emits', async () => {
    const emitted = await emittedNames();
    const bad: string[] = [];
    for (const file of files) {
      const d = load(file);
      bad.push(...unknownNames(file, d, emitted));
      assert.ok(queries(file, d).some((q) => q.names.length > 0), `${file}: the check saw metric names at all`);
    }
    assert.deepEqual(bad, [], 'metric names ws2otel does not emit');
  });

  it('use only variables they define (or Grafana built-ins)', () => {
    const builtins = new Set(['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s', '__range_ms', '__from', '__to', '__dashboard', '__name']);
    for (const file of files) {
      const d = load(file);
      const defined = new Set((d.templating?.list ?? []).map((v) => v.name));
      const text = JSON.stringify([allPanels(d).map((p) => p.targets), d.templating?.list]);
      for (const m of text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
        assert.ok(defined.has(m[1]!) || builtins.has(m[1]!), `${file}: $${m[1]} is not defined`);
      }
    }
  });

  it('would catch a misspelt metric', async () => {
    const emitted = await emittedNames();
    const d: Dashboard = {
      panels: [{ id: 1, title: 'typo', targets: [{ refId: 'A', expr: 'sum by (source) (rate(ws2otel_source_frames_recieved_total{source=~"$source"}[5m]))' }] }],
      templating: { list: [{ name: 'x', type: 'query', query: { query: 'label_values(smc_element_monitoring_status, smc_element_name)' } }] },
    };
    const bad = unknownNames('t.json', d, emitted);
    assert.equal(bad.length, 2, bad.join('\n'));
    assert.match(bad[0]!, /^ws2otel_source_frames_recieved_total /);
    assert.match(bad[1]!, /^smc_element_monitoring_status /);
  });
});
