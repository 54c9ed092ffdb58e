// Body compression named by the `compression` header (kombu's compression registry).
// kombu's 'application/x-gzip' is zlib-format data, so that name maps to deflate, not gzip.

import { brotliCompressSync, brotliDecompressSync, deflateSync, inflateSync } from 'node:zlib';
import { DecodeError } from '../errors.js';

interface Codec { readonly contentType: string; compress(b: Uint8Array): Uint8Array; decompress(b: Uint8Array): Uint8Array }

const codecs: Codec[] = [
  { contentType: 'application/x-gzip', compress: (b) => deflateSync(b), decompress: (b) => inflateSync(b) },
  { contentType: 'application/x-brotli', compress: (b) => brotliCompressSync(b), decompress: (b) => brotliDecompressSync(b) },
];
const aliases: Record<string, string> = { gzip: 'application/x-gzip', zlib: 'application/x-gzip', brotli: 'application/x-brotli' };

function find(name: string): Codec {
  const type = aliases[name] ?? name;
  const codec = codecs.find((c) => c.contentType === type);
  if (!codec) throw new DecodeError(`Unknown compression '${name}'. Use zlib (gzip) or brotli.`);
  return codec;
}

/** Compress with a method named by alias or content type; returns the header value to send. */
export function compress(body: Uint8Array, method: string): { body: Uint8Array; header: string } {
  const codec = find(method);
  return { body: codec.compress(body), header: codec.contentType };
}

/** Undo the codec named by a `compression` header (zlib/gzip, brotli); throws DecodeError for any other. */
export function decompress(body: Uint8Array, header: string): Uint8Array {
  return find(header).decompress(body);
}
