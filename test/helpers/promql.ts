import type { MetricKind } from '../../src/model.js';

// Two small tools for checking Grafana dashboards against what ws2otel emits:
//  - prometheusName: an OpenTelemetry metric's name as the OpenTelemetry Collector's prometheus and
//    prometheusremotewrite exporters write it by default (add_metric_suffixes: true, i.e. the
//    "UnderscoreEscapingWithSuffixes" strategy of github.com/prometheus/otlptranslator);
//  - promqlMetricNames: the metric names a PromQL expression (with Grafana variables) selects.

/** UCUM unit → Prometheus unit word (otlptranslator's unitMap); a unit not listed is kept as is. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', TiBy: 'tibibytes',
  KBy: 'kilobytes', MBy: 'megabytes', GBy: 'gigabytes', TBy: 'terabytes',
  m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams',
  Cel: 'celsius', Hz: 'hertz', '1': '', '%': 'percent',
};

/** The unit after `/` (otlptranslator's perUnitMap): `bit/s` → `bit_per_second`. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

/** Characters a legacy Prometheus metric name may hold (besides `_`, which is a separator here). */
const NAME_CHAR = /[a-zA-Z0-9:]/;

function tokens(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const c of s) {
    if (NAME_CHAR.test(c)) cur += c;
    else if (cur) {
      out.push(cur);
      cur = '';
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** A unit word with invalid characters replaced and `_` runs collapsed, leading `_` removed. */
function cleanUnit(u: string): string {
  return u.replace(/[^a-zA-Z0-9:]/g, '_').replace(/_+/g, '_').replace(/^_/, '');
}

function unitWords(unit: string): { main: string; per: string } {
  const [mainRaw = '', perRaw] = unit.split(/\/(.*)/s, 2);
  const mainU = mainRaw.trim();
  // Annotations ({packet}, {client}) carry no unit: nothing is appended for them.
  const main = mainU !== '' && !/[{}]/.test(mainU) ? (UNIT_WORDS[mainU] ?? mainU) : '';
  let per = '';
  const perU = (perRaw ?? '').trim();
  if (perU !== '' && !/[{}]/.test(perU)) per = `per_${PER_UNIT_WORDS[perU] ?? perU}`;
  return { main: cleanUnit(main), per: cleanUnit(per) };
}

/**
 * `smc.element.latency` (ms, gauge) → `smc_element_latency_milliseconds`;
 * `mist.device.tx.bytes` (By, counter) → `mist_device_tx_bytes_total`; `nxapi.interface.oper.status`
 * (1, gauge) → `nxapi_interface_oper_status_ratio`; `smc.element.traffic` (bit/s) →
 * `smc_element_traffic_bit_per_second` (`bit` is not in the Collector's unit table, so it stays).
 */
export function prometheusName(name: string, unit: string, kind: MetricKind): string {
  let t = tokens(name);
  const { main, per: perWithSep } = unitWords(unit);
  let mainSuffix = t.includes(main) ? '' : main;
  let per = perWithSep === 'per_' ? '' : perWithSep.replace(/_$/, '');
  if (t.includes(per)) per = '';
  if (per !== '') mainSuffix = mainSuffix.replace(/_$/, '');
  if (mainSuffix !== '') t.push(mainSuffix);
  if (per !== '') t.push(per);
  if (kind === 'counter') t = [...t.filter((x) => x !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') t = [...t.filter((x) => x !== 'ratio'), 'ratio'];
  const joined = t.join('_');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

// ---- PromQL ----------------------------------------------------------------------------------

/** Words that are never metric names where they stand (operators, modifiers, literals). */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'start', 'end', 'atan2']);
/** Followed by a parenthesised list of label names, not of expressions. */
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const IDENT_START = /[a-zA-Z_:]/;
const IDENT = /[a-zA-Z0-9_:]/;

export interface MetricRef {
  name: string;
  /** Offset of the name in the expression (for error messages). */
  at: number;
}

/**
 * The metric names an expression selects: identifiers not followed by `(` (functions, aggregations)
 * that are not keywords, not inside `{…}` (label matchers, except a `__name__` matcher's value), not in
 * a `by (…)`-style label list, not inside `[…]` (ranges), strings or Grafana variables (`$x`, `${x}`,
 * `[[x]]`). Numbers and durations (`5m`, `1e3`, `0x1f`) are skipped.
 */
export function promqlMetricNames(expr: string): MetricRef[] {
  const out: MetricRef[] = [];
  let i = 0;
  const n = expr.length;
  const skipSpace = () => {
    while (i < n) {
      if (/\s/.test(expr[i]!)) i++;
      else if (expr[i] === '#') while (i < n && expr[i] !== '\n') i++; // PromQL comment
      else break;
    }
  };
  const readString = (): string => {
    const q = expr[i]!;
    let s = '';
    i++;
    while (i < n && expr[i] !== q) {
      if (expr[i] === '\\' && q !== '`') {
        s += expr[i + 1] ?? '';
        i += 2;
      } else s += expr[i++];
    }
    if (i >= n) throw new Error(`unterminated string in ${JSON.stringify(expr)}`);
    i++;
    return s;
  };
  const skipVariable = () => {
    i++; // $
    if (expr[i] === '{') {
      const close = expr.indexOf('}', i);
      if (close < 0) throw new Error(`unterminated \${ in ${JSON.stringify(expr)}`);
      i = close + 1;
    } else while (i < n && IDENT.test(expr[i]!)) i++;
  };
  const readIdent = (): string => {
    const from = i;
    while (i < n && IDENT.test(expr[i]!)) i++;
    return expr.slice(from, i);
  };
  /** `{…}`: label matchers. Only `__name__="x"` names a metric. */
  const readMatchers = () => {
    i++; // {
    let label = '';
    let op = '';
    while (i < n && expr[i] !== '}') {
      const c = expr[i]!;
      if (c === '"' || c === "'" || c === '`') {
        const v = readString();
        if (label === '__name__' && op === '=') out.push({ name: v, at: i });
        label = op = '';
      } else if (c === '$') skipVariable();
      else if (IDENT_START.test(c)) label = readIdent();
      else if (c === '=' || c === '!' || c === '~') {
        op += c;
        i++;
      } else {
        if (c === ',') label = op = '';
        i++;
      }
    }
    if (i >= n) throw new Error(`unterminated { in ${JSON.stringify(expr)}`);
    i++;
  };
  /** `[…]` ranges and subqueries hold durations and variables only. */
  const skipBrackets = () => {
    const close = expr.indexOf(']', i);
    if (close < 0) throw new Error(`unterminated [ in ${JSON.stringify(expr)}`);
    i = close + 1;
  };
  /** `(a, b)` after by/without/on/ignoring/group_left/group_right: label names. */
  const skipLabelList = () => {
    skipSpace();
    if (expr[i] !== '(') return; // group_left without a list
    const close = expr.indexOf(')', i);
    if (close < 0) throw new Error(`unterminated label list in ${JSON.stringify(expr)}`);
    i = close + 1;
  };

  while (i < n) {
    const c = expr[i]!;
    if (/\s/.test(c) || c === '#') skipSpace();
    else if (c === '"' || c === "'" || c === '`') readString();
    else if (c === '$') skipVariable();
    else if (c === '{') readMatchers();
    else if (c === '[') {
      if (expr[i + 1] === '[') {
        const close = expr.indexOf(']]', i); // Grafana's deprecated [[var]]
        if (close < 0) throw new Error(`unterminated [[ in ${JSON.stringify(expr)}`);
        i = close + 2;
      } else skipBrackets();
    } else if (/[0-9.]/.test(c) && !(c === '.' && !/[0-9]/.test(expr[i + 1] ?? ''))) {
      // Numbers, hex, exponents and durations (5m, 1h30m, 1.5e3) run through letters and digits.
      while (i < n && /[0-9a-zA-Z_.]/.test(expr[i]!)) {
        if ((expr[i] === 'e' || expr[i] === 'E') && (expr[i + 1] === '+' || expr[i + 1] === '-')) i++;
        i++;
      }
    } else if (IDENT_START.test(c)) {
      const at = i;
      const word = readIdent();
      const lower = word.toLowerCase();
      if (LABEL_LISTS.has(lower)) {
        skipLabelList();
        continue;
      }
      if (lower === 'offset') {
        skipSpace();
        if (expr[i] === '-') i++;
        while (i < n && /[0-9a-zA-Z_$]/.test(expr[i]!)) i++;
        continue;
      }
      const save = i;
      skipSpace();
      const next = expr[i];
      i = save;
      if (next === '(') continue; // a function or aggregation
      if (next !== undefined && IDENT_START.test(next)) {
        // `sum by (le) (…)`, `topk without (x) (…)`: an aggregation whose grouping comes first.
        const after = expr.slice(i).replace(/^\s+/, '');
        if (/^(by|without)\s*\(/i.test(after)) continue;
      }
      if (KEYWORDS.has(lower)) continue;
      out.push({ name: word, at });
    } else i++;
  }
  return out;
}

/**
 * The metric names of a Grafana query variable: `label_values(selector, label)` selects from the
 * selector (the label is not a metric); `label_values(label)` and `label_names()` select none;
 * `query_result(expr)` and `metrics(regex)` are treated as an expression and as nothing.
 */
export function variableQueryMetricNames(query: string): MetricRef[] {
  const q = query.trim();
  const lv = /^label_values\s*\(([\s\S]*)\)$/.exec(q);
  if (lv) {
    const args = lv[1]!;
    const comma = lastTopLevelComma(args);
    return comma < 0 ? [] : promqlMetricNames(args.slice(0, comma));
  }
  const qr = /^query_result\s*\(([\s\S]*)\)$/.exec(q);
  if (qr) return promqlMetricNames(qr[1]!);
  if (/^(label_names|metrics)\s*\(/.test(q)) return [];
  return promqlMetricNames(q);
}

function lastTopLevelComma(s: string): number {
  let depth = 0;
  let quote = '';
  let last = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0) last = i;
  }
  return last;
}
