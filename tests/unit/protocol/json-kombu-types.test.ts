import { describe, expect, it } from 'vitest';
import { acceptSet, decode } from '../../../src/protocol/serializers.js';

// What a kombu 5.3+ peer writes under json for values plain JSON cannot hold ({"__type__", "__value__"}, as its
// kombu/utils/json.py documents), read back as Celery 5.2 peers send them: bytes as bytes, the rest as their text.
const accept = acceptSet(['json']);
const read = (text: string) => decode({ body: Buffer.from(text), contentType: 'application/json' }, accept);

describe('json from a kombu 5.3+ peer', () => {
  it('revives bytes, base64, datetime, date, time, decimal and uuid markers', () => {
    const text =
      '[[{"__type__": "bytes", "__value__": "h\\u00e9"}, {"__type__": "base64", "__value__": "AP/+"}], ' +
      '{"at": {"__type__": "datetime", "__value__": "2026-01-01T09:00:00+09:00"}, "utc": {"__type__": "datetime", "__value__": "2026-01-01T00:00:00.250000+00:00"}, "day": {"__type__": "date", "__value__": "2026-01-01"}, ' +
      '"t": {"__type__": "time", "__value__": "12:30:00"}, "price": {"__type__": "decimal", "__value__": "1.10"}, ' +
      '"id": {"__type__": "uuid", "__value__": {"hex": "6F1E2D3C4B5A69788796A5B4C3D2E1F0", "version": 4}}}, {}]';
    const [args, kwargs] = read(text) as [unknown[], Record<string, unknown>];
    expect(Buffer.from(args[0] as Uint8Array).toString('utf8')).toBe('hé');
    expect(Buffer.from(args[1] as Uint8Array)).toEqual(Buffer.from([0, 0xff, 0xfe]));
    expect(kwargs).toEqual({ at: '2026-01-01T09:00:00+09:00', utc: '2026-01-01T00:00:00.250000Z', day: '2026-01-01T00:00:00', t: '12:30:00', price: '1.10', id: '6f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' });
  });

  it('keeps objects that only look like markers: an unknown type, an extra key, a non-text value', () => {
    const text = '[{"__type__": "frozenset", "__value__": [1]}, {"__type__": "bytes", "__value__": "a", "x": 1}, {"__type__": "bytes", "__value__": 5}]';
    expect(read(text)).toEqual(JSON.parse(text));
  });

  it('leaves plain bodies untouched (no marker, no walk)', () => {
    const text = '[[1, "__type__"], {"k": {"__value__": 1}}, {}]';
    expect(read(text)).toEqual(JSON.parse(text));
  });
});
