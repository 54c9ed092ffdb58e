// The auth serializer's wire layout, verification and refusals (byte compatibility with Python's celery.security
// is checked both ways in tests/interop/signing.test.ts).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecurityError } from '../../../src/errors.js';
import { authSerializer, packSigned, unpackSigned } from '../../../src/security/auth-serializer.js';
import { loadCertStore } from '../../../src/security/cert-store.js';
import { Certificate, PrivateKey, digestNamed } from '../../../src/security/certificate.js';
import { certificateId } from '../../../src/security/x509-name.js';
import { certDir, makeIdentity, makeStore, type TestIdentity } from '../../support/certs.js';

let dir: string;
let alice: TestIdentity;
let mallory: TestIdentity;
let store: string;

const load = (id: TestIdentity, options: { digest?: string; serializer?: string; store?: string } = {}) => authSerializer({
  key: PrivateKey.fromPem(readFileSync(id.key), id.key),
  cert: Certificate.fromPem(readFileSync(id.cert), id.cert),
  store: loadCertStore(options.store ?? store),
  digest: digestNamed(options.digest ?? 'sha256'),
  serializer: options.serializer ?? 'json',
});

beforeAll(() => {
  dir = certDir();
  alice = makeIdentity(dir, 'alice', { subject: '/C=US/ST=Some State/O=Acme, Inc./CN=alice' });
  mallory = makeIdentity(dir, 'mallory');
  store = makeStore(dir, 'store', [alice.cert]);
});

describe('signer id', () => {
  it('is the issuer values in certificate order and the decimal serial, as Celery names a signer', () => {
    const x509 = Certificate.fromPem(readFileSync(alice.cert), alice.cert).x509;
    expect(certificateId(x509.raw)).toBe(`US Some State Acme, Inc. alice ${BigInt(`0x${x509.serialNumber}`)}`);
  });
});

describe('auth serializer', () => {
  it('writes base64 of signer, signature, content type, encoding and body joined by 00 01, and reads it back', () => {
    const s = load(alice);
    const body = Buffer.from(s.encode([[2, 3], {}, {}]));
    expect(s.contentType).toBe('application/data');
    expect(s.contentEncoding).toBe('utf-8');
    const raw = Buffer.from(body.toString('latin1'), 'base64');
    expect(raw.toString('base64')).toBe(body.toString('latin1'));
    const parts = unpackSigned(body, () => 256);
    expect(parts.signer).toBe(Certificate.fromPem(readFileSync(alice.cert), alice.cert).id);
    expect(parts.signature).toHaveLength(256);
    expect([parts.contentType, parts.contentEncoding, parts.body.toString()]).toEqual(['application/json', 'utf-8', '[[2,3],{},{}]']);
    expect(s.decode(body)).toEqual([[2, 3], {}, {}]);
  });

  it('keeps a binary inner body whole even when it holds the separator bytes', () => {
    const s = load(alice, { serializer: 'msgpack' });
    const value = [0, 1, Buffer.from([0, 1, 0, 1])];
    expect(s.decode(s.encode(value))).toEqual([0, 1, Buffer.from([0, 1, 0, 1])]);
  });

  it('signs with each digest Celery names', () => {
    for (const digest of ['sha1', 'sha512', 'sha3_256']) {
      const s = load(alice, { digest });
      expect(s.decode(s.encode({ digest }))).toEqual({ digest });
    }
  });

  it('refuses a body changed after signing', () => {
    const s = load(alice);
    const parts = unpackSigned(s.encode({ amount: 10 }), () => 256);
    const forged = packSigned({ ...parts, body: Buffer.from('{"amount":10000}') });
    expect(() => s.decode(forged)).toThrow(/Bad signature/);
    expect(() => s.decode(forged)).toThrow(SecurityError);
  });

  it('refuses a signer that is not in the store, and a message verified with another digest', () => {
    const fromMallory = load(mallory).encode({ cmd: 'shutdown' });
    expect(() => load(alice).decode(fromMallory)).toThrow(/Unknown certificate: .*mallory/);
    expect(() => load(alice, { digest: 'sha512' }).decode(load(alice).encode(1))).toThrow(/Bad signature/);
  });

  it('refuses bodies that are not signed messages, and inner content it cannot read', () => {
    const s = load(alice);
    expect(() => s.decode(Buffer.from('{"args": []}'))).toThrow(/Not a signed message/);
    expect(() => s.decode(Buffer.from('aGVsbG8='))).toThrow(/Not a signed message/);
    const parts = unpackSigned(s.encode('x'), () => 256);
    const truncated = packSigned({ ...parts, signature: parts.signature.subarray(0, 100) });
    expect(() => s.decode(truncated)).toThrow(/Malformed signed message/);
  });
});

describe('cert store and keys', () => {
  it('refuses a store whose certificate has expired, and a certificate that expires later', () => {
    const later = Date.now() + 10 * 86_400_000;
    expect(() => loadCertStore(store, later)).toThrow(/Expired certificate: 'US Some State Acme, Inc. alice \d+'/);
    const loaded = loadCertStore(store);
    const id = Certificate.fromPem(readFileSync(alice.cert), alice.cert).id;
    expect(loaded.get(id).id).toBe(id);
    expect(() => loaded.get(id, later)).toThrow(/Expired certificate/);
  });

  it('loads a glob of files, refuses duplicates, empty matches and files that are not certificates', () => {
    expect(loadCertStore(join(store, '*.pem')).size).toBe(1);
    expect(() => loadCertStore(join(store, '*.crt'))).toThrow(/holds no certificate/);
    const dup = makeStore(dir, 'dup', [alice.cert, alice.cert]);
    expect(() => loadCertStore(dup)).toThrow(/Duplicate certificate/);
    const junk = makeStore(dir, 'junk', [alice.cert]);
    writeFileSync(join(junk, 'notes.txt'), 'not a certificate');
    expect(() => loadCertStore(junk)).toThrow(/Invalid certificate .*notes\.txt/);
  });

  it('accepts RSA keys only (Celery signs with RSA-PSS), and decrypts a key with its password', () => {
    const ec = makeIdentity(dir, 'ec', { ec: true });
    expect(() => Certificate.fromPem(readFileSync(ec.cert), ec.cert)).toThrow(/RSA-PSS only/);
    expect(() => PrivateKey.fromPem(readFileSync(ec.key), ec.key)).toThrow(/RSA-PSS only/);
    const locked = makeIdentity(dir, 'locked', { password: 's3cret-pw' });
    expect(() => PrivateKey.fromPem(readFileSync(locked.key), locked.key)).toThrow(/set security_key_password/);
    let wrong: Error | undefined;
    try {
      PrivateKey.fromPem(readFileSync(locked.key), locked.key, 'wrong-pw');
    } catch (error) {
      wrong = error as Error;
    }
    expect(wrong?.message).toMatch(/check security_key_password/);
    expect(wrong?.message).not.toMatch(/wrong-pw/);
    expect(PrivateKey.fromPem(readFileSync(locked.key), locked.key, 's3cret-pw')).toBeInstanceOf(PrivateKey);
  });

  it('names the digests it knows when given another', () => {
    expect(digestNamed('SHA256').openssl).toBe('sha256');
    expect(() => digestNamed('sha3-256')).toThrow(/Unknown security_digest 'sha3-256'.*sha3_256/);
  });
});
