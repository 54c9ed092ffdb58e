import { describe, expect, it } from 'vitest';

// Runs only in the vitest project `tokyo`: proves its other files really ran on a clock nine hours east of UTC.
describe('the tokyo project', () => {
  it('runs with the machine time zone Asia/Tokyo', () => {
    expect(new Date(2026, 0, 1).getTimezoneOffset()).toBe(-540);
    expect(new Intl.DateTimeFormat().resolvedOptions().timeZone).toBe('Asia/Tokyo');
  });
});
