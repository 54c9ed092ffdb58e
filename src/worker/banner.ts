// The start-up banner, shaped like Celery's so its users know where to look. Passwords never appear.

import { arch, platform, release } from 'node:os';

/** What the start-up banner shows (URLs already redacted). */
export interface BannerInfo {
  hostname: string;
  version: string;
  app: string;
  transport: string;
  results: string;
  concurrency: number;
  pool: string;
  events: boolean;
  queues: ReadonlyArray<{ name: string; exchange: string; exchangeType: string; routingKey: string }>;
  tasks: readonly string[];
  notes?: readonly string[];
}

/** The banner text, laid out as Celery's worker prints it. */
export function renderBanner(b: BannerInfo): string {
  const art = [
    ' -------------- ', '--- ***** ----- ', '-- ******* ---- ', '- *** --- * --- ', '- ** ---------- ', '- ** ---------- ',
    '- ** ---------- ', '- ** ---------- ', '- *** --- * --- ', '-- ******* ---- ', '--- ***** ----- ', ' -------------- ',
  ];
  const lines = [
    `${b.hostname} v${b.version} (celeriac)`,
    '',
    `${platform()}-${release()}-${arch()} ${new Date().toISOString().replace('T', ' ').slice(0, 19)}`,
    '',
    '[config]',
    `.> app:         ${b.app}`,
    `.> transport:   ${b.transport}`,
    `.> results:     ${b.results}`,
    `.> concurrency: ${b.concurrency} (${b.pool})`,
    `.> task events: ${b.events ? 'ON' : 'OFF (enable -E to monitor tasks in this worker)'}`,
    '',
    '[queues]',
  ];
  const out = art.map((a, i) => `${a}${lines[i] ?? ''}`.trimEnd());
  for (const q of b.queues) out.push(`                .> ${q.name.padEnd(16)} exchange=${q.exchange}(${q.exchangeType}) key=${q.routingKey}`);
  out.push('', '[tasks]', ...b.tasks.map((t) => `  . ${t}`));
  for (const note of b.notes ?? []) out.push('', note);
  return `${out.join('\n')}\n`;
}
