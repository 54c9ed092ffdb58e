// Turns the collected samples into the report: the console table, bench/results/latest.md (pasteable into the
// README) and latest.json. Ratios compare each system's best variant for a figure, by median.

import { spread, type Spread } from './stats.js';

export type FigureKey =
  | 'enqueueAwaited' | 'enqueueInFlight' | 'queuedBytes' | 'drain' | 'workerCpu' | 'redisCpu' | 'startup' | 'safeDrain' | 'rtP50' | 'rtP99' | 'rss' | 'pss';

interface Figure {
  key: FigureKey;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  /** Measured once per system (the client), not per worker variant. */
  perSystem?: boolean;
}

export const FIGURES: readonly Figure[] = [
  { key: 'enqueueAwaited', label: 'enqueue, each call awaited', unit: 'tasks/s', higherIsBetter: true, perSystem: true },
  { key: 'enqueueInFlight', label: 'enqueue, all in flight', unit: 'tasks/s', higherIsBetter: true, perSystem: true },
  { key: 'queuedBytes', label: 'Redis memory per queued task', unit: 'B', higherIsBetter: false, perSystem: true },
  { key: 'drain', label: 'drain, first to last result', unit: 'tasks/s', higherIsBetter: true },
  { key: 'workerCpu', label: 'drain: worker CPU per task', unit: 'µs', higherIsBetter: false },
  { key: 'redisCpu', label: 'drain: redis-server CPU per task', unit: 'µs', higherIsBetter: false },
  { key: 'startup', label: 'worker start-up to first result', unit: 's', higherIsBetter: false },
  { key: 'safeDrain', label: 'safe drain (acks_late)', unit: 'tasks/s', higherIsBetter: true },
  { key: 'rtP50', label: 'round trip p50', unit: 'ms', higherIsBetter: false },
  { key: 'rtP99', label: 'round trip p99', unit: 'ms', higherIsBetter: false },
  { key: 'rss', label: 'worker peak RSS', unit: 'MiB', higherIsBetter: false },
  { key: 'pss', label: 'worker peak PSS', unit: 'MiB', higherIsBetter: false },
];

export interface Column {
  system: string;
  variant: string;
  settings: string;
}

export interface Report {
  title: string;
  machine: Record<string, string>;
  command: string;
  options: Record<string, number | boolean | string>;
  versions: Record<string, string>;
  columns: Column[];
  /** column index → figure → one value per run */
  samples: Record<FigureKey, number[]>[];
  ceiling: Record<string, number[]>;
  notes: string[];
  errors: string[];
}

const name = (c: Column) => `${c.system} ${c.variant}`;

function format(value: number, unit: string): string {
  if (unit === 'tasks/s' || unit === 'ops/s') return Math.round(value).toLocaleString('en-US');
  if (unit === 'MiB' || unit === 'µs') return value.toFixed(1);
  if (unit === 'B') return Math.round(value).toLocaleString('en-US');
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function cell(s: Spread | null, unit: string): string {
  if (!s) return 'n/a';
  if (s.runs === 1) return format(s.median, unit);
  return `${format(s.median, unit)} (${format(s.min, unit)}–${format(s.max, unit)})`;
}

function best(report: Report, system: string, figure: Figure): number | null {
  const medians = report.columns
    .map((c, i) => (c.system === system ? spread(report.samples[i][figure.key] ?? [])?.median : undefined))
    .filter((m): m is number => m !== undefined);
  if (medians.length === 0) return null;
  return figure.higherIsBetter ? Math.max(...medians) : Math.min(...medians);
}

function ratio(report: Report, figure: Figure, other: string): string {
  const mine = best(report, 'celeriac', figure);
  const theirs = best(report, other, figure);
  return mine === null || theirs === null || theirs === 0 ? 'n/a' : `${(mine / theirs).toFixed(2)}×`;
}

/** The rows of the main table: header first. */
function rows(report: Report): string[][] {
  const header = ['figure', ...report.columns.map(name), 'celeriac/BullMQ', 'celeriac/Celery'];
  const body = FIGURES.map((f) => {
    const cells = report.columns.map((c, i) => {
      const first = report.columns.findIndex((d) => d.system === c.system);
      if (f.perSystem && first !== i) return '〃'; // the same client figure as the system's first column
      return cell(spread(report.samples[i][f.key] ?? []), f.unit);
    });
    return [`${f.label} (${f.unit})`, ...cells, ratio(report, f, 'BullMQ'), ratio(report, f, 'Celery')];
  });
  return [header, ...body];
}

function ceilingRows(report: Report): string[][] {
  return [['redis-benchmark (ops/s)', 'median (min–max)'], ...Object.entries(report.ceiling).map(([test, v]) => [test, cell(spread(v), 'ops/s')])];
}

function textTable(table: string[][]): string {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(table[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n');
}

function markdownTable(table: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(table[0]), `|${table[0].map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...table.slice(1).map(line)].join('\n');
}

const header = (report: Report) => [
  `Machine: ${Object.entries(report.machine).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  `Versions: ${Object.values(report.versions).join('; ')}`,
  `Command: \`${report.command}\` (${Object.entries(report.options).map(([k, v]) => `${k} ${v}`).join(', ')})`,
];

export function renderText(report: Report): string {
  return [
    report.title,
    ...header(report),
    '',
    textTable(rows(report)),
    '',
    textTable(ceilingRows(report)),
    '',
    ...report.notes.map((n) => `- ${n}`),
    ...report.errors.map((e) => `! ${e}`),
  ].join('\n');
}

export function renderMarkdown(report: Report): string {
  return [
    `### ${report.title}`,
    '',
    ...header(report).map((l) => `${l}  `),
    '',
    markdownTable(rows(report)),
    '',
    markdownTable(ceilingRows(report)),
    '',
    ...report.columns.map((c) => `- **${name(c)}**: ${c.settings}`),
    ...report.notes.map((n) => `- ${n}`),
    ...(report.errors.length ? ['', '**Errors**', '', ...report.errors.map((e) => `- ${e}`)] : []),
    '',
  ].join('\n');
}

export function toJson(report: Report): unknown {
  return {
    ...report,
    summary: report.columns.map((c, i) => ({
      column: name(c),
      figures: Object.fromEntries(FIGURES.map((f) => [f.key, spread(report.samples[i][f.key] ?? [])])),
    })),
    ceilingSummary: Object.fromEntries(Object.entries(report.ceiling).map(([t, v]) => [t, spread(v)])),
  };
}
