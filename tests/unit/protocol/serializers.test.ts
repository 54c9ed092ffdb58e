import { describe, expect, it } from 'vitest';
import { acceptSet, decode, encode, registerSerializer, getSerializer } from '../../../src/protocol/serializers.js';
import { pyRepr } from '../../../src/protocol/repr.js';
import { compress, decompress } from '../../../src/protocol/compression.js';
import { buildResultMeta, decodeResultMeta, encodeResultMeta, formatDateDone } from '../../../src/protocol/result-meta.js';
import { docToError, exceptionToDoc } from '../../../src/protocol/exceptions.js';
import { ContentDisallowed, RemoteTaskError, TimeLimitExceeded } from '../../../src/errors.js';

const all = acceptSet(['json', 'msgpack', 'yaml']);
const value = [[2, 'x', null, true, 1.5], { k: [1, 2], é: 'ü' }, { callbacks: null, errbacks: null, chain: null, chord: null }];

describe('serializers', () => {
  for (const name of ['json', 'msgpack', 'yaml']) {
    it(`${name} round-trips nested plain data and unicode`, () => {
      const enc = encode(value, name);
      expect(decode(enc, all)).toEqual(value);
    });
  }
  it('msgpack bytes match Python msgpack for the body of add(2, 3) (REDIS-WIRE.md §8)', () => {
    const enc = encode([[2, 3], {}, { callbacks: null, errbacks: null, chain: null, chord: null }], 'msgpack');
    expect(Buffer.from(enc.body).toString('hex')).toBe('939202038084a963616c6c6261636b73c0a86572726261636b73c0a5636861696ec0a563686f7264c0');
    expect(enc.contentType).toBe('application/x-msgpack');
    expect(enc.contentEncoding).toBe('binary');
  });
  it('json writes dates as ISO strings', () => {
    expect(new TextDecoder().decode(encode({ d: new Date(0) }, 'json').body)).toBe('{"d":"1970-01-01T00:00:00.000Z"}');
  });
  it('accept_content takes names or content types', () => {
    expect([...acceptSet(['json', 'application/x-yaml'])]).toEqual(['application/json', 'application/x-yaml']);
  });
  it('refuses to register pickle, and registers custom serializers', () => {
    expect(() => registerSerializer({ name: 'pickle', contentType: 'application/x-python-serialize', contentEncoding: 'binary', encode: () => new Uint8Array(), decode: () => null })).toThrow(ContentDisallowed);
    registerSerializer({ name: 'upper', contentType: 'application/x-upper', contentEncoding: 'utf-8', encode: (v) => Buffer.from(String(v).toUpperCase()), decode: (b) => Buffer.from(b).toString() });
    expect(getSerializer('upper')?.contentType).toBe('application/x-upper');
    expect(decode(encode('abc', 'upper'), acceptSet(['upper']))).toBe('ABC');
  });
  it('wraps malformed bodies in a DecodeError naming the content type and place', () => {
    expect(() => decode({ body: Buffer.from('{oops'), contentType: 'application/json' }, all, 'task 1')).toThrow(/Malformed json body \(task 1\)/);
  });
});

describe('compression', () => {
  it('zlib (kombu application/x-gzip) and brotli round-trip', () => {
    for (const m of ['zlib', 'gzip', 'brotli']) {
      const c = compress(Buffer.from('hello hello hello'), m);
      expect(Buffer.from(decompress(c.body, c.header)).toString()).toBe('hello hello hello');
    }
    expect(compress(Buffer.from('x'), 'zlib').header).toBe('application/x-gzip');
  });
});

describe('pyRepr', () => {
  it('prints like Python repr', () => {
    expect(pyRepr([2, 3])).toBe('[2, 3]');
    expect(pyRepr({ k: 'v', n: null, t: true })).toBe("{'k': 'v', 'n': None, 't': True}");
    expect(pyRepr("it's")).toBe('"it\'s"');
    expect(pyRepr('x'.repeat(2000)).length).toBe(1024);
  });
});

describe('result documents', () => {
  it('builds Celery field order, puts parent_id/group_id before task_id only when set', () => {
    const m = buildResultMeta({ taskId: 't1', status: 'SUCCESS', result: 5, dateDone: new Date(Date.UTC(2026, 10, 25, 1, 46, 31, 445)), parentId: 'p', groupId: null });
    expect(Object.keys(m)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'parent_id', 'task_id']);
    expect(m.date_done).toBe('2026-11-25T01:46:31.445000');
    expect(decodeResultMeta(encodeResultMeta(m, 'json'), 'json')).toEqual(m);
  });
  it('reads the minimal documents Python accepts', () => {
    const m = decodeResultMeta(Buffer.from('{"status": "SUCCESS", "result": [1, "x"], "task_id": "x"}'), 'json');
    expect(m).toMatchObject({ status: 'SUCCESS', result: [1, 'x'], traceback: null, children: [], date_done: null });
  });
  it('formats date_done without offset', () => {
    expect(formatDateDone(new Date(0))).toBe('1970-01-01T00:00:00.000000');
  });
});

describe('exceptions', () => {
  it('maps JS errors to Python-readable documents', () => {
    expect(exceptionToDoc(new TypeError('bad'))).toEqual({ exc_type: 'TypeError', exc_message: ['bad'], exc_module: 'builtins' });
    expect(exceptionToDoc(new TimeLimitExceeded('slow'))).toMatchObject({ exc_type: 'TimeLimitExceeded', exc_module: 'billiard.exceptions' });
    expect(exceptionToDoc(new Error('x'))).toEqual({ exc_type: 'Error', exc_message: ['x'], exc_module: 'celeriac.errors' });
  });
  it('rebuilds a Python failure as a typed RemoteTaskError', () => {
    const e = docToError({ exc_type: 'ValueError', exc_message: ['bad thing'], exc_module: 'builtins' }, 'Traceback…', { taskId: 't' });
    expect(e).toBeInstanceOf(RemoteTaskError);
    expect(e.excType).toBe('ValueError');
    expect(e.message).toBe('bad thing');
    expect(String(e)).toBe('ValueError: bad thing');
    expect(e.remoteTraceback).toBe('Traceback…');
    expect(e.context.taskId).toBe('t');
    expect(exceptionToDoc(e)).toEqual({ exc_type: 'ValueError', exc_message: ['bad thing'], exc_module: 'builtins' });
  });
});
