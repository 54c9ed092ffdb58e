// Channels on one AMQP connection (amqplib's Channel layer): one confirm channel for publishing, one plain channel
// for declare/purge/size (a channel error there, e.g. 406 on an inequivalent queue, must not take publishing
// down), and a fresh channel per subscription. Each remembers the error that closed it, so a failed operation can
// report the broker's reason rather than amqplib's "channel closed".

import type { Channel, ConfirmChannel } from 'amqplib';
import type { Conn } from './connection.js';

const lastErrors = new WeakMap<Channel, Error>();

function recordErrors<C extends Channel>(ch: C): C {
  ch.on('error', (e: Error) => lastErrors.set(ch, e));
  return ch;
}

/** The error the broker closed `ch` with (e.g. 404 NOT_FOUND), if it was closed by one. */
export function lastChannelError(ch: Channel): Error | undefined {
  return lastErrors.get(ch);
}

/** The connection's confirm channel for publishing, opened on first use. */
export function publisherChannel(conn: Conn): Promise<ConfirmChannel> {
  return sharedChannel(conn, 'publisher', () => conn.model.createConfirmChannel());
}

/** The connection's plain channel for declare, purge and size, opened on first use. */
export function adminChannel(conn: Conn): Promise<Channel> {
  return sharedChannel(conn, 'admin', () => conn.model.createChannel());
}

/** Stop using the publisher channel `ch` (its confirm bookkeeping is off after an encoding failure) and close it. */
export function retirePublisher(conn: Conn, ch: ConfirmChannel): void {
  conn.publisher = undefined;
  void ch.close().catch(() => {});
}

/** A fresh channel for a subscription, owned by the caller. Rejects with amqplib's error. */
export async function openChannel(conn: Conn): Promise<Channel> {
  return recordErrors(await conn.model.createChannel());
}

/** The connection's channel in `slot`, opened on first use and forgotten when it closes or fails to open. */
function sharedChannel<K extends 'publisher' | 'admin'>(conn: Conn, slot: K, open: () => Promise<Awaited<NonNullable<Conn[K]>>>): NonNullable<Conn[K]> {
  const current = conn[slot];
  if (current) return current as NonNullable<Conn[K]>;
  const p = open().then((ch) => {
    recordErrors(ch);
    ch.on('close', () => {
      if (conn[slot] === p) conn[slot] = undefined;
    });
    return ch;
  });
  p.catch(() => {
    if (conn[slot] === p) conn[slot] = undefined;
  });
  conn[slot] = p as Conn[K];
  return p as NonNullable<Conn[K]>;
}
