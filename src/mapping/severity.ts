// OpenTelemetry SeverityNumber ranges (logs data model): each level's first number.
export const Severity = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 } as const;
export type SeverityName = keyof typeof Severity;

const ALIASES: Record<string, SeverityName> = {
  trace: 'TRACE', debug: 'DEBUG', info: 'INFO', information: 'INFO', notice: 'INFO', ok: 'INFO',
  warn: 'WARN', warning: 'WARN', error: 'ERROR', err: 'ERROR', critical: 'FATAL', crit: 'FATAL',
  fatal: 'FATAL', urgent: 'FATAL', emergency: 'FATAL', alert: 'FATAL',
};

export function severityOf(name: string): { severityNumber: number; severityText: string } {
  const key = ALIASES[name.toLowerCase()] ?? (name.toUpperCase() in Severity ? (name.toUpperCase() as SeverityName) : 'INFO');
  return { severityNumber: Severity[key], severityText: key };
}

/** A first-match table of patterns → severity: vendors name events, not levels. */
export interface SeverityRule {
  match: RegExp;
  severity: SeverityName;
}

export function severityByRules(text: string, rules: readonly SeverityRule[], fallback: SeverityName = 'INFO') {
  for (const r of rules) if (r.match.test(text)) return { severityNumber: Severity[r.severity], severityText: r.severity };
  return { severityNumber: Severity[fallback], severityText: fallback };
}
