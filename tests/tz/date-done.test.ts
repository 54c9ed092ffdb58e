import { describe, expect, it } from 'vitest';
import { parseDateDone } from '../../src/protocol/result-meta.js';

// Runs with TZ=Asia/Tokyo (vitest project `tokyo`): date_done as Python's backends write it (naive UTC isoformat,
// or with an offset) is the same instant on a machine nine hours east of UTC.
describe('date_done in Asia/Tokyo', () => {
  it('reads naive text as UTC and keeps a written offset', () => {
    expect(parseDateDone('2026-01-01T00:00:00.250000')?.toISOString()).toBe('2026-01-01T00:00:00.250Z');
    expect(parseDateDone('2026-01-01T09:00:00+09:00')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parseDateDone('2026-01-01 00:00:00Z')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('gives null for garbage or nothing, never a date in the machine zone', () => {
    expect(parseDateDone('next tuesday')).toBeNull();
    expect(parseDateDone('2026-02-30T00:00:00')).toBeNull();
    expect(parseDateDone(null)).toBeNull();
  });
});
