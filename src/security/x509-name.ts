// The identity Celery's auth serializer puts in every signed message: the certificate's issuer attribute values,
// in certificate order, joined by spaces, then a space and the serial number in decimal (celery.security's
// Certificate.get_id). Node's X509Certificate prints the issuer with RFC 2253 escapes that vary by version, so
// the values are read from the certificate's DER bytes instead (a bounded walk of a few ASN.1 headers).

import { SecurityError } from '../errors.js';

interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
}

/** One DER tag-length-value at `offset` of `der` (definite lengths only, as DER requires). */
function tlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new SecurityError('Invalid certificate: truncated DER.');
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw new SecurityError('Invalid certificate: bad DER length.');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  if (end > limit) throw new SecurityError('Invalid certificate: DER length past its container.');
  return { tag, start, end };
}

/** The children of a constructed TLV. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const child = tlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const INTEGER = 0x02;
const VERSION = 0xa0;

/** An attribute value as Python's cryptography returns it (`NameAttribute.value`): text by its string type. */
function stringValue(der: Uint8Array, value: Tlv): string {
  const bytes = Buffer.from(der.buffer, der.byteOffset + value.start, value.end - value.start);
  switch (value.tag) {
    case 0x1e: // BMPString: UTF-16 big-endian
      return Buffer.from(bytes).swap16().toString('utf16le');
    case 0x1c: { // UniversalString: UTF-32 big-endian
      let text = '';
      for (let i = 0; i + 3 < bytes.length; i += 4) text += String.fromCodePoint(bytes.readUInt32BE(i));
      return text;
    }
    case 0x14: // TeletexString: read as Latin-1
      return bytes.toString('latin1');
    default: // UTF8String, PrintableString, IA5String, VisibleString, NumericString
      return bytes.toString('utf8');
  }
}

/** A DER INTEGER as a signed decimal string (Python's `serial_number`). */
function integerText(der: Uint8Array, value: Tlv): string {
  let n = 0n;
  for (let i = value.start; i < value.end; i++) n = (n << 8n) | BigInt(der[i]!);
  const bits = BigInt((value.end - value.start) * 8);
  if (value.end > value.start && der[value.start]! & 0x80) n -= 1n << bits;
  return n.toString();
}

/**
 * The id Celery signs with and looks certificates up by: `'<issuer values joined by spaces> <serial>'`, from a
 * certificate's DER bytes (`X509Certificate.raw`). Throws SecurityError when the bytes are not a certificate.
 */
export function certificateId(der: Uint8Array): string {
  const certificate = tlv(der, 0, der.length);
  const tbs = children(der, certificate)[0];
  if (certificate.tag !== SEQUENCE || tbs?.tag !== SEQUENCE) throw new SecurityError('Invalid certificate: not an X.509 structure.');
  const fields = children(der, tbs);
  let i = fields[0]?.tag === VERSION ? 1 : 0;
  const serial = fields[i++];
  i++; // the signature algorithm
  const issuer = fields[i];
  if (serial?.tag !== INTEGER || issuer?.tag !== SEQUENCE) throw new SecurityError('Invalid certificate: no serial number or issuer.');
  const values: string[] = [];
  for (const rdn of children(der, issuer)) {
    if (rdn.tag !== SET) throw new SecurityError('Invalid certificate: malformed issuer name.');
    for (const attribute of children(der, rdn)) {
      const value = children(der, attribute)[1];
      if (attribute.tag !== SEQUENCE || !value) throw new SecurityError('Invalid certificate: malformed issuer attribute.');
      values.push(stringValue(der, value));
    }
  }
  return `${values.join(' ')} ${integerText(der, serial)}`;
}
