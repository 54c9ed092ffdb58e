// Small HTTP helpers for the dashboard's Node request handler: JSON and text replies, bounded request bodies
// (JSON or form-encoded, as Flower's API takes both), query arguments, and the error a route throws for a status.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { CeleryError } from '../errors.js';

/** Largest request body read (bytes): task arguments for async-apply, form fields for actions. */
export const MAX_BODY_BYTES = 1 << 20;

/** What a route throws to answer with an HTTP status (Flower's HTTPError): `message` is the plain-text body. */
export class HttpError extends CeleryError {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
Object.defineProperty(HttpError.prototype, 'code', { value: 'DASHBOARD_HTTP_ERROR', writable: false });

/** One parsed request: method, path (without the mount prefix), query, and a lazy bounded body. */
export interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly raw: IncomingMessage;
  /** The body as an object: JSON, or form fields (application/x-www-form-urlencoded); {} when empty. */
  body(): Promise<Record<string, unknown>>;
}

/** Write `value` as JSON (Flower's API replies application/json; charset=UTF-8). */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

/** Write plain text. */
export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Build a Request from Node's message; `prefix` (e.g. '/flower') is removed from the path. */
export function parseRequest(raw: IncomingMessage, prefix: string): Request {
  const url = new URL(raw.url ?? '/', 'http://dashboard.invalid');
  let path = decodeURIComponentSafe(url.pathname);
  if (prefix && (path === prefix || path.startsWith(`${prefix}/`))) path = path.slice(prefix.length) || '/';
  let body: Promise<Record<string, unknown>> | undefined;
  return { method: (raw.method ?? 'GET').toUpperCase(), path, query: url.searchParams, raw, body: () => (body ??= readBody(raw)) };
}

/** A query or body argument as a string (query first, as Tornado's get_argument reads both). */
export function argument(req: Request, body: Record<string, unknown>, name: string): string | undefined {
  const q = req.query.get(name);
  if (q !== null) return q;
  const v = body[name];
  return v === undefined || v === null ? undefined : String(v);
}

/** Tornado-style booleans: 'true', '1', 'yes' (any case) are true. */
export function truthy(value: string | undefined | null): boolean {
  return value !== undefined && value !== null && /^(1|true|yes|on)$/i.test(value);
}

/** An integer argument, or `fallback`; a non-integer answers 400. */
export function intArgument(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new HttpError(400, `Invalid argument ${name}: '${value}' is not an integer.`);
  return n;
}

async function readBody(raw: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `Request body larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  const type = String(raw.headers['content-type'] ?? '');
  // Flower reads a JSON body whatever its content type: `curl -d '{"args": [1, 2]}'` (sent as a form) works there.
  if (type.includes('application/x-www-form-urlencoded') && !text.trimStart().startsWith('{')) return Object.fromEntries(new URLSearchParams(text));
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `The request body is not JSON: ${(error as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new HttpError(400, 'invalid options: the body must be a JSON object.');
  return doc as Record<string, unknown>;
}

function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
