// Dashboard auth: basic and bearer credentials, 401 without them, and Flower's closed API when none is configured.

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { inspect } from 'node:util';
import { Auth, PAGE_HEADER } from '../../../src/dashboard/auth.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

const req = (headers: Record<string, string> = {}) => ({ headers }) as unknown as IncomingMessage;
const basic = (pair: string) => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` });

describe('Auth', () => {
  it('with basic auth: any listed pair passes, anything else is unauthorized, pages and API alike', () => {
    const auth = new Auth({ basicAuth: 'ann:one, bob:two:colon' });
    expect(auth.check(req(basic('ann:one')), true)).toBe('ok');
    expect(auth.check(req(basic('bob:two:colon')), false)).toBe('ok');
    expect(auth.check(req(basic('ann:two')), true)).toBe('unauthorized');
    expect(auth.check(req(), false)).toBe('unauthorized');
    expect(auth.check(req({ [PAGE_HEADER]: '1' }), true)).toBe('unauthorized');
    expect(auth.check(req({ authorization: 'Bearer one' }), true)).toBe('unauthorized');
  });

  it('with a token: only Bearer <token> passes', () => {
    const auth = new Auth({ authToken: 'tok' });
    expect(auth.check(req({ authorization: 'Bearer tok' }), true)).toBe('ok');
    expect(auth.check(req({ authorization: 'bearer tok' }), true)).toBe('ok');
    expect(auth.check(req({ authorization: 'Bearer tok2' }), true)).toBe('unauthorized');
    expect(auth.check(req(basic('x:tok')), true)).toBe('unauthorized');
  });

  it('without auth: pages are open, the API is closed unless opened (FLOWER_UNAUTHENTICATED_API) or asked by the page', () => {
    const closed = new Auth();
    expect(closed.enabled).toBe(false);
    expect(closed.check(req(), false)).toBe('ok');
    expect(closed.check(req(), true)).toBe('api-closed');
    // Only with the token the page was served with: a script sending the header without it stays out.
    expect(closed.check(req({ [PAGE_HEADER]: closed.pageToken }), true)).toBe('ok');
    expect(closed.check(req({ [PAGE_HEADER]: '1' }), true)).toBe('api-closed');
    expect(closed.check(req({ [PAGE_HEADER]: new Auth().pageToken }), true)).toBe('api-closed');
    expect(inspect(closed)).not.toContain(closed.pageToken);
    expect(new Auth({ unauthenticatedApi: true }).check(req(), true)).toBe('ok');
  });

  it('refuses malformed settings with ImproperlyConfigured', () => {
    expect(() => new Auth({ basicAuth: 'nocolon' })).toThrow(ImproperlyConfigured);
    expect(() => new Auth({ authToken: ' ' })).toThrow(ImproperlyConfigured);
  });

  it('keeps no secret in a readable field', () => {
    expect(JSON.stringify(new Auth({ basicAuth: 'ann:hunter2', authToken: 'tok-secret' }))).not.toMatch(/hunter2|tok-secret/);
  });
});
