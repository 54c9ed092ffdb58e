// Who may use the dashboard: HTTP basic auth (Flower's --basic-auth user:password[,user:password]) and a bearer
// token. With either configured, every request without valid credentials answers 401. With none, the pages are
// open and the REST API answers 401 unless opened explicitly (Flower's FLOWER_UNAUTHENTICATED_API).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ImproperlyConfigured } from '../errors.js';

/**
 * The dashboard's own page sends this header on its API calls, with the random token it was served with: with no
 * authentication configured, the API is as open as the page is, and closed to scripts that never loaded the page.
 */
export const PAGE_HEADER = 'x-celeriac-dashboard';

/** Flower's answer to an API call when no authentication is configured and the API was not opened. */
export const UNAUTHENTICATED_API_MESSAGE = 'FLOWER_UNAUTHENTICATED_API environment variable is required to enable API without authentication';

/** Authentication settings of createDashboard. */
export interface AuthOptions {
  /** 'user:password' pairs (Flower's --basic-auth), as a list or one comma-separated string. */
  basicAuth?: string | readonly string[];
  /** A bearer token: `Authorization: Bearer <token>`. */
  authToken?: string;
  /** Serve the REST API without authentication when none is configured (Flower's FLOWER_UNAUTHENTICATED_API). */
  unauthenticatedApi?: boolean;
}

/** The outcome of checking one request. */
export type AuthVerdict = 'ok' | 'unauthorized' | 'api-closed';

/** Compiled credentials: compares digests in constant time, never keeps a secret in a readable field. */
export class Auth {
  private readonly basic: Buffer[];
  private readonly token: Buffer | null;
  private readonly openApi: boolean;
  readonly #pageToken = randomBytes(18).toString('base64url');
  private readonly pageDigest = digest(this.#pageToken);

  /** Throws ImproperlyConfigured for a basic-auth entry without a ':' or an empty token. */
  constructor(options: AuthOptions = {}) {
    const entries = typeof options.basicAuth === 'string' ? options.basicAuth.split(',') : [...(options.basicAuth ?? [])];
    this.basic = entries.map((e) => e.trim()).filter(Boolean).map((entry) => {
      if (!entry.includes(':')) throw new ImproperlyConfigured(`A basic-auth entry has no ':' (expected user:password). Give --basic-auth user:password[,user2:password2].`);
      return digest(entry);
    });
    if (options.authToken !== undefined && options.authToken.trim() === '') {
      throw new ImproperlyConfigured('The auth token is empty. Give a long random token, or none.');
    }
    this.token = options.authToken === undefined ? null : digest(options.authToken);
    this.openApi = options.unauthenticatedApi ?? false;
  }

  /** The token the page is served with (see PAGE_HEADER); new for every dashboard, never in inspect output. */
  get pageToken(): string {
    return this.#pageToken;
  }

  /** True when basic auth or a token is configured. */
  get enabled(): boolean {
    return this.basic.length > 0 || this.token !== null;
  }

  /** True when basic auth is configured (a 401 then asks the browser for credentials). */
  get basicEnabled(): boolean {
    return this.basic.length > 0;
  }

  /** Check a request to a page (`api: false`) or to the REST API or metrics (`api: true`). */
  check(req: IncomingMessage, api: boolean): AuthVerdict {
    if (!this.enabled) {
      const fromPage = req.headers[PAGE_HEADER];
      if (!api || this.openApi || (typeof fromPage === 'string' && timingSafeEqual(this.pageDigest, digest(fromPage)))) return 'ok';
      return 'api-closed';
    }
    const header = String(req.headers.authorization ?? '');
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'basic' && this.basic.length) {
      const given = digest(Buffer.from(value, 'base64').toString('utf8'));
      if (this.basic.some((d) => timingSafeEqual(d, given))) return 'ok';
    }
    if (scheme === 'bearer' && this.token && timingSafeEqual(this.token, digest(value))) return 'ok';
    return 'unauthorized';
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
