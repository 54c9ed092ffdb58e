// Pidbox names, declarations, requests and destination matching, as kombu and Celery 5 use them.

import { describe, expect, it } from 'vitest';
import {
  buildControlReply, DEFAULT_PIDBOX_QUEUE, globMatch, isForWorker, nodeQueueDeclaration, parseControlRequest, pidboxNames,
  replyQueueDeclaration, type ControlRequest,
} from '../../../src/protocol/control.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const request = (over: Partial<ControlRequest> = {}): ControlRequest => ({
  method: 'ping', arguments: {}, destination: null, pattern: null, matcher: null, ticket: 't', reply_to: null, ...over,
});

describe('pidbox queues are declared exactly as kombu declares them (AMQP-WIRE.md §1)', () => {
  it('<node>.celery.pidbox: fanout binding "", not durable, auto-delete, x-expires 10 s, x-message-ttl 300 s', () => {
    expect(nodeQueueDeclaration(pidboxNames(), 'w1@h', DEFAULT_PIDBOX_QUEUE)).toEqual({
      name: 'w1@h.celery.pidbox', exchange: 'celery.pidbox', exchangeType: 'fanout', routingKey: '', durable: false, autoDelete: true, expires: 10, messageTtl: 300,
    });
  });

  it('<oid>.reply.celery.pidbox: direct binding on the oid; a namespace renames everything; null drops an argument', () => {
    expect(replyQueueDeclaration(pidboxNames(), 'oid-1', DEFAULT_PIDBOX_QUEUE)).toMatchObject({ name: 'oid-1.reply.celery.pidbox', exchange: 'reply.celery.pidbox', exchangeType: 'direct', routingKey: 'oid-1' });
    const names = pidboxNames('proj');
    expect([names.exchange, names.replyExchange, names.nodeQueue('w'), names.replyQueue('o')]).toEqual(['proj.pidbox', 'reply.proj.pidbox', 'w.proj.pidbox', 'o.reply.proj.pidbox']);
    expect(replyQueueDeclaration(names, 'o', { expires: null, messageTtl: 5 })).not.toHaveProperty('expires');
  });
});

describe('requests', () => {
  it('parses Celery\'s request, with expires and clock headers', () => {
    const body = { method: 'rate_limit', arguments: { task_name: 'a', rate_limit: '1/s' }, destination: ['w1'], pattern: null, matcher: null, ticket: 'x', reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'o' } };
    const { request, expires, clock } = parseControlRequest({ body: json(body), contentType: 'application/json', headers: { clock: 3, expires: 17.5 } });
    expect(request).toEqual(body);
    expect([expires, clock]).toEqual([17.5, 3]);
  });

  it('refuses what is not a JSON request, and bodies over the limit', () => {
    const parse = (body: Uint8Array, contentType = 'application/json') => () => parseControlRequest({ body, contentType, headers: {} });
    expect(parse(json({ method: 'ping' }), 'application/x-python-serialize')).toThrow(/only application\/json/);
    expect(parse(Buffer.from('{not json'))).toThrow(/not valid JSON/);
    expect(parse(json({ arguments: {} }))).toThrow(/without a method/);
    expect(parse(Buffer.alloc((4 << 20) + 1, 32))).toThrow(/over the \d+-byte limit/);
  });

  it('a reply is { node: reply } with the ticket; a None reply stays null', () => {
    const reply = buildControlReply('w1', undefined, 'tk', 4);
    expect(JSON.parse(Buffer.from(reply.body).toString())).toEqual({ w1: null });
    expect(reply.headers).toEqual({ ticket: 'tk', clock: 4 });
    expect(reply.properties.delivery_mode).toBe(1);
  });
});

describe('who answers', () => {
  it('destination first, then a glob pattern, else everybody; pcre patterns are not run', () => {
    expect(isForWorker(request(), 'w1')).toBe(true);
    expect(isForWorker(request({ destination: ['w2'] }), 'w1')).toBe(false);
    expect(isForWorker(request({ destination: ['w1'], pattern: 'x*', matcher: 'glob' }), 'w1')).toBe(true);
    expect(isForWorker(request({ pattern: 'w*', matcher: 'glob' }), 'w1')).toBe(true);
    expect(isForWorker(request({ pattern: 'w.*', matcher: 'pcre' }), 'w1')).toBe(false);
  });

  it('glob: *, ?, [set], [!set], ranges; linear time on hostile patterns', () => {
    expect(globMatch('celery@*', 'celery@host-1')).toBe(true);
    expect(globMatch('w?@h', 'w1@h')).toBe(true);
    expect(globMatch('w?@h', 'w12@h')).toBe(false);
    expect(globMatch('w[0-9]@h', 'w7@h')).toBe(true);
    expect(globMatch('w[!0-9]@h', 'w7@h')).toBe(false);
    expect(globMatch('*a*b', 'xaxxb')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    const started = process.hrtime.bigint();
    expect(globMatch(`${'*a'.repeat(400)}b`, 'a'.repeat(255))).toBe(false);
    // A backtracking regex would take ages here; the two-pointer match is done in well under a second.
    expect(Number(process.hrtime.bigint() - started) / 1e9).toBeLessThan(5);
  });
});
