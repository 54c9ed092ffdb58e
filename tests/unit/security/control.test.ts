// Signed remote-control messages: a request or reply built with 'auth' parses back as signed after its signature
// is verified; an altered one is refused with SecurityError; a json one parses as unsigned.

import { beforeAll, describe, expect, it } from 'vitest';
import { SecurityError } from '../../../src/errors.js';
import { Celery } from '../../../src/index.js';
import { buildControlReply, buildControlRequest, parseControlReply, parseControlRequest, type ControlRequest } from '../../../src/protocol/control.js';
import { certDir, makeIdentity, makeStore } from '../../support/certs.js';

const request: ControlRequest = {
  method: 'shutdown', arguments: {}, destination: null, pattern: null, matcher: null, ticket: 't1',
  reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'oid' },
};

beforeAll(() => {
  const dir = certDir();
  const id = makeIdentity(dir, 'control');
  const app = new Celery('control', {
    task_serializer: 'auth', accept_content: ['auth'], security_key: id.key, security_certificate: id.cert, security_cert_store: makeStore(dir, 'store', [id.cert]),
  } as never);
  app.setupSecurity();
});

describe('signed remote control', () => {
  it('a signed request is verified and parsed as signed; a json one as unsigned', () => {
    const signed = buildControlRequest(request, 4, 100, 'auth');
    expect(signed.contentType).toBe('application/data');
    expect(parseControlRequest(signed)).toEqual({ request, expires: 100, clock: 4, signed: true });
    expect(parseControlRequest(buildControlRequest(request, 4, 100))).toMatchObject({ request, signed: false });
  });

  it('an altered signed request is refused with SecurityError', () => {
    const signed = buildControlRequest(request, 4, 100, 'auth');
    const raw = Buffer.from(Buffer.from(signed.body).toString('latin1'), 'base64');
    const at = raw.indexOf('shutdown');
    raw.write('shutdowN', at);
    expect(() => parseControlRequest({ ...signed, body: Buffer.from(raw.toString('base64')) })).toThrow(SecurityError);
  });

  it('a signed reply reads back after verification', () => {
    const reply = buildControlReply('w@h', { ok: 'pong' }, 't1', 5, 'auth');
    expect(reply.contentType).toBe('application/data');
    expect(parseControlReply(reply)).toEqual({ ticket: 't1', reply: { 'w@h': { ok: 'pong' } } });
  });
});
