// Broker and backend URLs: parse every scheme Celery users write, fold scheme aliases, split failover lists, and
// redact passwords for logs and errors. Pure string work: no DNS, no sockets; redaction never throws.

import { ImproperlyConfigured } from '../errors.js';

/**
 * One parsed URL. Fields are raw (no per-transport defaults): a missing port is null, not 6379.
 * `password` is non-enumerable, so logging or JSON-encoding a ParsedUrl does not print it; log `redacted`.
 */
export interface ParsedUrl {
  /** The scheme as written, lower case: 'rediss', 'db+postgresql', 'redis+socket'. */
  readonly scheme: string;
  /**
   * The canonical scheme for lookup tables: the db+/sqla+/cache+ prefix and SQLAlchemy driver suffixes removed,
   * aliases folded (rediss → redis, socket/unix → redis+socket, pyamqp/amqps/librabbitmq → amqp,
   * postgres → postgresql).
   */
  readonly base: string;
  /** Celery's backend prefix: db+ and sqla+ (SQL), cache+ (cache backend); null without one. */
  readonly prefix: 'db' | 'sqla' | 'cache' | null;
  /** The scheme asks for TLS (rediss, amqps). */
  readonly tls: boolean;
  readonly hostname: string | null;
  readonly port: number | null;
  readonly username: string | null;
  readonly password: string | null;
  /**
   * By scheme: AMQP → the virtual host ('/' when none or `//`); sqlite → the file path ('relative.db',
   * '/abs/path.db', 'celeriac.db' for `sqlite://`, celeriac's embedded default); redis+socket → the socket path; SQL servers → the database name;
   * redis/sentinel → the database number as written. Percent-decoded; null when absent.
   */
  readonly path: string | null;
  /** Redis database number (from the path, or `?virtual_host=`/`?db=` for sockets); null when not given. */
  readonly db: number | null;
  /** Query parameters, decoded; the last of repeated keys wins. */
  readonly query: Readonly<Record<string, string>>;
  /** The other URLs of a failover list (`a;b;c` or an array), in order; empty for a single URL. */
  readonly alternates: readonly ParsedUrl[];
  /** This URL with its password replaced by `**`: safe for logs and errors. */
  readonly redacted: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([\s\S]*)$/;
// A `;` starts a new failover URL only when a scheme follows, so `;` inside one URL (memcached host lists) stays.
const FAILOVER = /;(?=\s*[A-Za-z][A-Za-z0-9+.-]*:\/\/)/;
const ALIASES: Readonly<Record<string, { base: string; tls?: boolean }>> = {
  rediss: { base: 'redis', tls: true },
  'rediss+cluster': { base: 'redis+cluster', tls: true },
  socket: { base: 'redis+socket' },
  unix: { base: 'redis+socket' },
  pyamqp: { base: 'amqp' },
  librabbitmq: { base: 'amqp' },
  amqps: { base: 'amqp', tls: true },
  pyamqps: { base: 'amqp', tls: true },
  postgres: { base: 'postgresql' },
};
// Schemes whose body is a file path, not host:port.
const PATH_SCHEMES = new Set(['sqlite', 'redis+socket', 'file']);
const REDIS_LIKE = new Set(['redis', 'sentinel', 'redis+cluster']);
const EXAMPLES: Readonly<Record<string, string>> = {
  redis: 'redis://:password@localhost:6379/0',
  sentinel: 'sentinel://localhost:26379;sentinel://other-host:26379',
  'redis+socket': 'redis+socket:///var/run/redis/redis.sock',
  amqp: 'amqp://guest:guest@localhost:5672//',
  postgresql: 'postgresql://user:password@localhost:5432/celery',
  sqlite: 'sqlite:///celery.db',
};

/**
 * Parse a broker or backend URL, a `;`-separated failover list, or an array of URLs (the first is returned, the
 * rest are in `alternates`). Throws ImproperlyConfigured naming `setting` (say 'broker_url') with an example.
 */
export function parseUrl(url: string | readonly string[], options: { setting?: string } = {}): ParsedUrl {
  try {
    return parseList(url);
  } catch (error) {
    if (!(error instanceof UrlProblem)) throw error;
    const setting = options.setting ?? 'The URL';
    throw new ImproperlyConfigured(`${setting} ${error.redacted} ${error.problem}. Write it like ${error.example}.`, {
      context: { ...(options.setting === undefined ? {} : { setting: options.setting }), url: error.redacted },
    });
  }
}

/**
 * Why a URL (or failover list) cannot be parsed, as a sentence starting "It …" with an example and no secrets;
 * undefined when it parses. For setting checks, which add the setting and where it was set.
 */
export function urlProblem(url: string | readonly string[]): string | undefined {
  try {
    parseList(url);
    return undefined;
  } catch (error) {
    if (!(error instanceof UrlProblem)) throw error;
    return `It ${error.problem}. Write it like ${error.example}.`;
  }
}

/** A URL that cannot be parsed: the problem as a predicate ("has no scheme"), the URL redacted, an example. */
class UrlProblem extends Error {
  constructor(readonly redacted: string, readonly problem: string, readonly example: string) {
    super(problem);
  }
}

/** The URLs of a failover list (`a;b;c` or an array), trimmed, empty entries dropped; one entry for a single URL. */
export function splitFailover(url: string | readonly string[]): string[] {
  return (typeof url === 'string' ? url.split(FAILOVER) : [...url]).map((u) => String(u).trim()).filter((u) => u !== '');
}

function parseList(url: string | readonly string[]): ParsedUrl {
  const entries = splitFailover(url);
  if (entries.length === 0) throw new UrlProblem("''", 'is empty', EXAMPLES.redis!);
  const [first, ...rest] = entries.map(parseOne);
  const bases = new Set([first!, ...rest].map((p) => p.base));
  if (bases.size > 1) {
    throw new UrlProblem(redactUrl(entries.join(';')), `lists URLs of different kinds (${[...bases].join(', ')}), but failover URLs must all use one transport`, EXAMPLES.sentinel!);
  }
  return make({ ...fieldsOf(first!), alternates: rest }, first!.password);
}

/** The scheme of a URL (of the first one in a failover list), lower case as written; null when it has none. */
export function schemeOf(url: string | readonly string[]): string | null {
  const first = typeof url === 'string' ? url.split(FAILOVER)[0] : url[0];
  const m = SCHEME.exec(String(first ?? '').trim());
  return m ? m[1]!.toLowerCase() : null;
}

/**
 * The URL with its password replaced by `**` (the user name kept): `amqp://user:**@host//`. Each URL of a
 * failover list is redacted, and so are secret-looking query parameters (`?password=`). Never throws: for input it
 * cannot make sense of it returns the input with every possible password hidden, or `**`.
 */
export function redactUrl(url: string): string {
  try {
    return String(url).split(FAILOVER).map((segment) => redactSegment(segment, false)).join(';');
  } catch {
    return '**';
  }
}

/** Redact the passwords of every URL inside a longer text (log lines, error messages). Never throws. */
export function redactText(text: string): string {
  try {
    return String(text).replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/\S*/g, (token) =>
      token.split(FAILOVER).map((segment) => redactSegment(segment, true)).join(';'));
  } catch {
    return '[redacted]';
  }
}

const SECRET_PARAM = /([?&][^=&#\s"'`<>]*(?:pass|secret|token|signature|api_?key|access_?key|account_?key|credential)[^=&#\s"'`<>]*=)[^&#\s"'`<>]*/gi;

/**
 * Hide the password of one URL. `strict` is for URLs found in running text, where quotes, brackets and spaces
 * end the credentials; for a whole URL (not strict) every character may belong to a password.
 */
function redactSegment(segment: string, strict: boolean): string {
  const schemeEnd = segment.indexOf('://');
  const bodyStart = schemeEnd >= 0 ? schemeEnd + 3 : 0;
  const body = segment.slice(bodyStart);
  const limit = strict ? body.search(/[\s"'`<>]/) : -1;
  const scope = limit >= 0 ? body.slice(0, limit) : body;
  // The credentials end at the last '@': a password may hold raw '@', '/', '?' or '#', and a query holding an '@'
  // only costs some over-redaction. Over-redacting is fine, leaking is not.
  const at = scope.lastIndexOf('@');
  let out = segment;
  if (at >= 0) {
    const userinfo = scope.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0 && colon < userinfo.length - 1) {
      out = segment.slice(0, bodyStart) + userinfo.slice(0, colon + 1) + '**' + body.slice(at);
    }
  }
  return out.replace(SECRET_PARAM, '$1**');
}

type Fields = Omit<ParsedUrl, 'password'>;

function make(fields: Fields, password: string | null): ParsedUrl {
  const parsed = { ...fields };
  Object.defineProperty(parsed, 'password', { value: password, enumerable: false });
  return Object.freeze(parsed) as ParsedUrl;
}

function fieldsOf(p: ParsedUrl): Fields {
  const { scheme, base, prefix, tls, hostname, port, username, path, db, query, alternates, redacted } = p;
  return { scheme, base, prefix, tls, hostname, port, username, path, db, query, alternates, redacted };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function parseOne(raw: string): ParsedUrl {
  const redacted = redactUrl(raw);
  const fail = (problem: string, base?: string): never => {
    throw new UrlProblem(redacted, problem, EXAMPLES[base ?? ''] ?? EXAMPLES.redis!);
  };
  const m = SCHEME.exec(raw);
  if (!m) return fail('has no scheme (such as redis://)');
  const scheme = m[1]!.toLowerCase();
  const prefixed = /^(db|sqla|cache)\+(.+)$/.exec(scheme);
  const prefix = (prefixed?.[1] ?? null) as ParsedUrl['prefix'];
  const inner = prefixed?.[2] ?? scheme;
  const driverless = /^(postgresql|postgres|sqlite|mysql)\+/.exec(inner)?.[1] ?? inner;
  const alias = ALIASES[driverless];
  const base = alias?.base ?? driverless;
  const tls = alias?.tls ?? false;

  // A fragment means nothing in these URLs; the query is everything after the first '?'.
  let body = m[2]!;
  const hash = body.indexOf('#');
  if (hash >= 0) body = body.slice(0, hash);
  const q = body.indexOf('?');
  const query: Record<string, string> = {};
  if (q >= 0) for (const [k, v] of new URLSearchParams(body.slice(q + 1))) query[k] = v;
  const beforeQuery = q >= 0 ? body.slice(0, q) : body;

  // Credentials end at the last '@', so an unencoded '/' or '@' in a password still parses.
  const at = PATH_SCHEMES.has(base) && beforeQuery.startsWith('/') ? -1 : beforeQuery.lastIndexOf('@');
  const userinfo = at >= 0 ? beforeQuery.slice(0, at) : null;
  const afterUser = at >= 0 ? beforeQuery.slice(at + 1) : beforeQuery;
  const colon = userinfo?.indexOf(':') ?? -1;
  const username = userinfo === null ? null : decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || null;
  const password = userinfo === null || colon < 0 ? null : decode(userinfo.slice(colon + 1)) || null;
  const common = { scheme, base, prefix, tls, username, query, alternates: [], redacted };

  if (PATH_SCHEMES.has(base)) {
    let path = decode(afterUser);
    if (base === 'sqlite') {
      // SQLAlchemy's forms sqlite:///relative.db and sqlite:////abs.db, celeriac's sqlite://file.db, and sqlite:// = celeriac.db (the embedded default).
      path = path === '' ? 'celeriac.db' : path.startsWith('/') ? path.slice(1) : path;
    } else if (path === '') {
      fail('has no path', base);
    }
    const dbText = base === 'redis+socket' ? query.virtual_host ?? query.db : undefined;
    return make({ ...common, hostname: null, port: null, path, db: dbText === undefined ? null : redisDb(dbText, fail) }, password);
  }

  const slash = afterUser.indexOf('/');
  const authority = slash >= 0 ? afterUser.slice(0, slash) : afterUser;
  const rawPath = slash >= 0 ? afterUser.slice(slash + 1) : null;
  let host = authority;
  let portText = '';
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) fail('has an unclosed [ in its IPv6 host', base);
    host = authority.slice(1, end);
    portText = authority.slice(end + 1).replace(/^:/, '');
  } else if (authority.includes(':')) {
    const c = authority.lastIndexOf(':');
    host = authority.slice(0, c);
    portText = authority.slice(c + 1);
  }
  let port: number | null = null;
  if (portText !== '') {
    port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) fail(`has port '${portText}', which is not a number from 1 to 65535`, base);
  }
  const hostname = host === '' ? null : decode(host);

  if (base === 'amqp') {
    return make({ ...common, hostname, port, path: rawPath ? decode(rawPath) : '/', db: null }, password);
  }
  if (REDIS_LIKE.has(base)) {
    const dbText = (rawPath ?? '').replace(/\/+$/, '');
    return make({ ...common, hostname, port, path: dbText === '' ? null : dbText, db: dbText === '' ? null : redisDb(dbText, fail) }, password);
  }
  return make({ ...common, hostname, port, path: rawPath === null ? null : decode(rawPath), db: null }, password);
}

function redisDb(text: string, fail: (problem: string, base?: string) => never): number {
  return /^\d+$/.test(text) ? Number(text) : fail(`names database '${text}', but a Redis database is a number (0–15 by default)`, 'redis');
}
