// Celery's `auth` serializer (celery.security's SecureSerializer), byte for byte: the value is serialized with an
// inner serializer (json by default), the inner body is signed, and the message body is the base64 (standard
// alphabet, padded) of five fields joined by the bytes 00 01:
//   signer id · signature · inner content type · inner content encoding · inner body
// Content type `application/data`, content encoding `utf-8`. The signature covers the inner body only, and is
// verified before a byte of it is decoded.

import { DecodeError, SecurityError } from '../errors.js';
import { decode, encode, getSerializer, type Serializer } from '../protocol/serializers.js';
import type { CertStore } from './cert-store.js';
import type { Certificate, Digest, PrivateKey } from './certificate.js';

/** The content type of signed messages (Celery registers `auth` under it). */
export const AUTH_CONTENT_TYPE = 'application/data';
const SEP = Buffer.from([0x00, 0x01]);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** What signing and verifying need: the signer's key and certificate, the trusted store, digest, inner serializer. */
export interface AuthSerializerOptions {
  /** Signs outgoing messages (security_key). */
  readonly key: PrivateKey;
  /** Names the signer in outgoing messages (security_certificate). */
  readonly cert: Certificate;
  /** Certificates trusted for incoming messages (security_cert_store). */
  readonly store: CertStore;
  /** security_digest (sha256 by default). */
  readonly digest: Digest;
  /** The serializer of the signed value: a registered name such as 'json' (Celery's default) or 'msgpack'. */
  readonly serializer: string;
}

/** The five fields of a signed body (after base64). */
export interface SignedParts {
  readonly signer: string;
  readonly signature: Buffer;
  readonly contentType: string;
  readonly contentEncoding: string;
  readonly body: Buffer;
}

/** Join the fields and base64 them, as Celery's SecureSerializer packs a signed body. */
export function packSigned(parts: SignedParts): Buffer {
  const fields = [Buffer.from(parts.signer, 'utf8'), parts.signature, Buffer.from(parts.contentType, 'utf8'), Buffer.from(parts.contentEncoding, 'utf8'), parts.body];
  const joined = Buffer.concat(fields.flatMap((field, i) => (i === 0 ? [field] : [SEP, field])));
  return Buffer.from(joined.toString('base64'), 'latin1');
}

/**
 * Split a signed body into its fields. The signature, which may hold the separator bytes, is cut by the length
 * the signer's key gives (`signatureBytes(signer)`: modulus bits / 8); the inner body is everything after the
 * fourth separator (so a binary body holding 00 01 stays whole). Throws SecurityError on any other shape.
 */
export function unpackSigned(payload: Uint8Array, signatureBytes: (signer: string) => number): SignedParts {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1').replace(/\s+/g, '');
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new SecurityError('Not a signed message: the body is not base64 (an auth message is base64 of signer, signature and body).');
  const raw = Buffer.from(text, 'base64');
  const first = raw.indexOf(SEP);
  if (first <= 0) throw new SecurityError('Not a signed message: no signer in the body.');
  const signer = raw.subarray(0, first).toString('utf8');
  const signatureStart = first + SEP.length;
  const signatureEnd = signatureStart + signatureBytes(signer);
  if (signatureEnd + SEP.length > raw.length || !raw.subarray(signatureEnd, signatureEnd + SEP.length).equals(SEP)) {
    throw new SecurityError(`Malformed signed message from '${signer}': the signature is not as long as the signer's key.`);
  }
  const rest = raw.subarray(signatureEnd + SEP.length);
  const typeEnd = rest.indexOf(SEP);
  const encodingEnd = typeEnd < 0 ? -1 : rest.indexOf(SEP, typeEnd + SEP.length);
  if (encodingEnd < 0) throw new SecurityError(`Malformed signed message from '${signer}': no content type and encoding before the body.`);
  return {
    signer,
    signature: raw.subarray(signatureStart, signatureEnd),
    contentType: rest.subarray(0, typeEnd).toString('utf8'),
    contentEncoding: rest.subarray(typeEnd + SEP.length, encodingEnd).toString('utf8'),
    body: rest.subarray(encodingEnd + SEP.length),
  };
}

/**
 * The `auth` serializer (registered by setupSecurity): encode serializes with the inner serializer and signs;
 * decode looks the signer up in the store, verifies the signature over the inner body, and only then decodes it
 * with the serializer its content type names (never pickle, never another signed layer). Throws SecurityError.
 */
export function authSerializer(options: AuthSerializerOptions): Serializer {
  const { key, cert, store, digest, serializer } = options;
  return {
    name: 'auth',
    contentType: AUTH_CONTENT_TYPE,
    contentEncoding: 'utf-8',
    encode(value) {
      const inner = encode(value, serializer);
      const body = Buffer.from(inner.body.buffer, inner.body.byteOffset, inner.body.byteLength);
      return packSigned({ signer: cert.id, signature: key.sign(body, digest), contentType: inner.contentType, contentEncoding: inner.contentEncoding, body });
    },
    decode(payload) {
      const parts = unpackSigned(payload, (signer) => store.get(signer).modulusBits >> 3);
      store.get(parts.signer).verify(parts.body, parts.signature, digest);
      if (parts.contentType === AUTH_CONTENT_TYPE || !getSerializer(parts.contentType)) {
        throw new DecodeError(`Signed message from '${parts.signer}' carries content type '${parts.contentType}', which celeriac cannot read. Sign json, msgpack or yaml.`);
      }
      return decode({ body: parts.body, contentType: parts.contentType }, new Set([parts.contentType]), `signed by '${parts.signer}'`);
    },
  };
}
