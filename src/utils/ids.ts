// Identifiers: task ids, client oids and the `gen<pid>@<host>` origin string Celery puts in headers.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** A random RFC 4122 v4 id, as Celery uses for task ids, group ids and client oids. */
export const uuid = (): string => randomUUID();

/** Celery's `origin` header for a sender: gen<pid>@<host>. */
export function originString(): string {
  return `gen${process.pid}@${hostname()}`;
}

/** Expand Celery's node-name patterns: %h = full hostname, %n = name part, %d = domain part, %i = pid. */
export function expandNodeName(pattern: string, host: string = hostname()): string {
  const [name, ...domain] = host.split('.');
  return pattern
    .replaceAll('%h', host)
    .replaceAll('%n', name ?? host)
    .replaceAll('%d', domain.join('.'))
    .replaceAll('%i', String(process.pid))
    .replaceAll('%%', '%');
}
