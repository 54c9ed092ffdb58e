import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, markRedelivered } from '../../../src/protocol/envelope.js';
import { acceptSet, decode } from '../../../src/protocol/serializers.js';
import { buildTaskMessage, parseTaskMessage } from '../../../src/protocol/task-message.js';
import { ContentDisallowed, DecodeError, InvalidTaskError } from '../../../src/errors.js';
import { pushedEnvelopes, redisCaptures } from '../../support/shared.js';

const accept = acceptSet(['json', 'msgpack', 'yaml']);
const captures = redisCaptures();
const taskEnvelopes = captures.flatMap(([file, c]) =>
  pushedEnvelopes(c)
    .map((e, i) => ({ file, i, ...e, env: decodeEnvelope(e.raw, e.list) }))
    .filter((e) => e.env.properties.delivery_info && (typeof e.env.headers.task === 'string' || e.file.startsWith('18-'))),
);

describe('protocol v2/v1 against every captured Celery 5.2.6 task message', () => {
  it('found task messages in the captures', () => {
    expect(taskEnvelopes.length).toBeGreaterThan(30);
  });

  for (const { file, i, env } of taskEnvelopes) {
    it(`${file} #${i}: parses and rebuilds to the same headers, body and properties`, () => {
      const m = parseTaskMessage(env, accept, file);
      const originalBody = decode(env, accept);
      if (m.protocol === 1) {
        const body = originalBody as Record<string, unknown>;
        expect(m.task).toBe(body.task);
        expect(m.id).toBe(body.id);
        expect(m.args).toEqual(body.args);
        return;
      }
      expect(m.id).toBe(env.headers.id);
      expect(m.task).toBe(env.headers.task);
      expect([m.args, m.kwargs]).toEqual((originalBody as unknown[]).slice(0, 2));

      const { correlation_id, reply_to, delivery_mode, priority, delivery_info, body_encoding, delivery_tag, expiration, ...extra } = env.properties;
      const serializer = env.contentType;
      const rebuilt = buildTaskMessage(m, { serializer, priority: priority as number, deliveryMode: delivery_mode as 1 | 2, extraProperties: extra });
      const { lang: _l1, redelivered: _r1, ...origHeaders } = env.headers;
      const { lang, ...newHeaders } = rebuilt.headers;
      expect(lang).toBe('js');
      expect(newHeaders).toEqual(origHeaders);
      expect(decode(rebuilt, accept)).toEqual(originalBody);
      expect(rebuilt.contentType).toBe(env.contentType);
      expect(rebuilt.contentEncoding).toBe(env.contentEncoding);
      expect(rebuilt.properties).toMatchObject({ correlation_id, reply_to, delivery_mode, priority, ...extra });
      expect('expiration' in rebuilt.properties).toBe(expiration !== undefined);
    });
  }
});

describe('envelope', () => {
  const message = buildTaskMessage(
    {
      id: 'id-1', task: 'tasks.add', args: [2, 3], kwargs: {}, embed: { callbacks: null, errbacks: null, chain: null, chord: null },
      eta: null, expires: null, retries: 0, group: null, groupIndex: null, rootId: null, parentId: null, timelimit: [null, null],
      shadow: null, origin: 'gen1@h', ignoreResult: false, argsrepr: null, kwargsrepr: null, replyTo: 'oid', correlationId: null,
      customHeaders: { x_custom: 'hello' }, protocol: 2,
    },
    { serializer: 'json' },
  );

  it('writes kombu key order, base64 body and delivery_info', () => {
    const raw = encodeEnvelope(message, { exchange: '', routingKey: 'celery' }, 'tag-1');
    const doc = JSON.parse(raw);
    expect(Object.keys(doc)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
    expect(doc.properties).toMatchObject({ delivery_info: { exchange: '', routing_key: 'celery' }, body_encoding: 'base64', delivery_tag: 'tag-1', priority: 0, delivery_mode: 2 });
    expect(JSON.parse(Buffer.from(doc.body, 'base64').toString())).toEqual([[2, 3], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(doc.headers).toMatchObject({ task: 'tasks.add', id: 'id-1', root_id: 'id-1', argsrepr: '[2, 3]', kwargsrepr: '{}', x_custom: 'hello' });
  });

  it('decodes a body without body_encoding as the raw payload', () => {
    const env = decodeEnvelope(JSON.stringify({ body: '[[1],{},{}]', 'content-type': 'application/json', headers: { task: 't', id: 'x' }, properties: { delivery_info: { exchange: '', routing_key: 'q' } } }), 'q');
    expect(parseTaskMessage(env, accept).args).toEqual([1]);
  });

  it('fills a missing delivery_info from the queue instead of failing', () => {
    const env = decodeEnvelope(JSON.stringify({ body: '', headers: {}, properties: {} }), 'celery');
    expect(env.deliveryInfo).toEqual({ exchange: '', routing_key: 'celery' });
  });

  it('rejects non-JSON and non-object envelopes with the queue named', () => {
    expect(() => decodeEnvelope('not json', 'q1')).toThrow(/queue 'q1' is not JSON/);
    expect(() => decodeEnvelope('[1,2]', 'q2')).toThrow(DecodeError);
  });

  it('marks redelivery in headers and delivery_info', () => {
    const raw = markRedelivered(encodeEnvelope(message, { exchange: '', routingKey: 'celery' }));
    const doc = JSON.parse(raw);
    expect(doc.headers.redelivered).toBe(true);
    expect(doc.properties.delivery_info.redelivered).toBe(true);
  });
});

describe('bad task bodies', () => {
  const env = (body: unknown, contentType = 'application/json') => ({
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), contentType, headers: { task: 't', id: 'i' }, properties: {},
  });
  it('refuses a body that is not [args, kwargs, embed]', () => {
    expect(() => parseTaskMessage(env([[5, 5], {}]), accept)).toThrow(/3-element array/);
    expect(() => parseTaskMessage(env([5, {}, {}]), accept)).toThrow(/args .* must be an array/);
    expect(() => parseTaskMessage(env([[], [], {}]), accept)).toThrow(/kwargs .* must be an object/);
  });
  it('refuses pickle before decoding, and content types outside accept_content', () => {
    expect(() => parseTaskMessage(env('garbage', 'application/x-python-serialize'), acceptSet(['json', 'pickle']))).toThrow(ContentDisallowed);
    expect(() => parseTaskMessage(env([[], {}, {}], 'application/x-yaml'), acceptSet(['json']))).toThrow(/untrusted content of type application\/x-yaml/);
  });
  it('explains a message with no task name', () => {
    expect(() => parseTaskMessage({ body: Buffer.from('{}'), contentType: 'application/json', headers: {}, properties: {} }, accept)).toThrow(/not a Celery task/);
  });
});

describe('eta and expires on the wire', () => {
  const message = (headers: Record<string, unknown>) => ({
    body: Buffer.from('[[], {}, {}]'),
    contentType: 'application/json',
    headers: { task: 'tasks.add', id: 'id-1', ...headers },
    properties: {},
  });

  it.each([
    ['eta', 'next tuesday'],
    ['expires', 'garbage'],
    ['eta', 1767225600],
    ['expires', '2026-02-30T00:00:00'],
  ])('refuses %s %j with InvalidTaskError naming the field, the value and the task', (field, value) => {
    let error: unknown;
    try {
      parseTaskMessage(message({ [field]: value }), accept);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidTaskError);
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as Error).message).toContain(`Invalid ${field} value`);
    expect((error as Error).message).toContain(String(value));
    expect((error as Error).message).toContain('tasks.add[id-1]');
  });

  it('keeps a valid eta as written (offset kept) and a naive one too', () => {
    expect(parseTaskMessage(message({ eta: '2026-11-25T10:47:10.250101+09:00' }), accept).eta).toBe('2026-11-25T10:47:10.250101+09:00');
    expect(parseTaskMessage(message({ expires: '2026-11-25T01:47:10.250101' }), accept).expires).toBe('2026-11-25T01:47:10.250101');
  });

  it('sends the remaining lifetime of expires as the AMQP expiration property', () => {
    const expires = new Date(Date.now() + 60_000).toISOString();
    const out = buildTaskMessage({ ...parseTaskMessage(message({}), accept), expires }, { serializer: 'json' });
    const left = Number(out.properties.expiration);
    expect(left).toBeGreaterThan(50_000);
    expect(left).toBeLessThanOrEqual(60_000);
  });
});

describe('Celery 5.3+ stamps', () => {
  const headers = { task: 't', id: 'i', stamped_headers: ['mon', 'gone'], stamps: { mon: ['a', 'b'], extra: 1 } };
  it('are read from stamped_headers + stamps (only the listed names), and written back the same way', () => {
    const m = parseTaskMessage({ body: Buffer.from('[[], {}, {}]'), contentType: 'application/json', headers, properties: {} }, accept);
    expect(m.stampedHeaders).toEqual(['mon', 'gone']);
    expect(m.stamps).toEqual({ mon: ['a', 'b'], gone: null });
    expect(m.customHeaders).toEqual({});
    const out = buildTaskMessage(m, { serializer: 'json' });
    expect(out.headers).toMatchObject({ stamped_headers: ['mon', 'gone'], stamps: { mon: ['a', 'b'], gone: null } });
  });

  it('a message without stamps gets no stamp headers (as Celery 5.2 sends it)', () => {
    const m = parseTaskMessage({ body: Buffer.from('[[], {}, {}]'), contentType: 'application/json', headers: { task: 't', id: 'i' }, properties: {} }, accept);
    expect(m.stampedHeaders).toBeNull();
    expect(buildTaskMessage(m, { serializer: 'json' }).headers).not.toHaveProperty('stamped_headers');
  });
});
