// Body compression named by the `compression` header (kombu's compression registry).
// kombu's 'application/x-gzip' is zlib-format data, so that name maps to deflate, not gzip.
// Decompression is bounded: a small hostile body (a "zip bomb") may not expand past `maxBytes`.

import { brotliCompressSync, brotliDecompressSync, deflateSync, inflateSync } from 'node:zlib';
import { DecodeError } from '../errors.js';

interface Codec {
  readonly contentType: string;
  compress(b: Uint8Array): Uint8Array;
  decompress(b: Uint8Array, maxOutputLength: number): Uint8Array;
}

const codecs: Codec[] = [
  { contentType: 'application/x-gzip', compress: (b) => deflateSync(b), decompress: (b, maxOutputLength) => inflateSync(b, { maxOutputLength }) },
  { contentType: 'application/x-brotli', compress: (b) => brotliCompressSync(b), decompress: (b, maxOutputLength) => brotliDecompressSync(b, { maxOutputLength }) },
];
const aliases: Record<string, string> = { gzip: 'application/x-gzip', zlib: 'application/x-gzip', brotli: 'application/x-brotli' };

/** Default bound on a decompressed body, in bytes (64 MiB): celeriac's worker_max_decompressed_size. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

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

/**
 * Undo the codec named by a `compression` header (zlib/gzip, brotli), producing at most `maxBytes` bytes.
 * Throws DecodeError for an unknown codec, corrupt data, or a body that would expand past `maxBytes`
 * (the message is then refused; raise worker_max_decompressed_size if such messages are legitimate).
 */
export function decompress(body: Uint8Array, header: string, maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Uint8Array {
  const codec = find(header);
  try {
    return codec.decompress(body, maxBytes);
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DecodeError(
        `A ${body.byteLength}-byte ${header} body expands past ${maxBytes} bytes; refused without decompressing further. ` +
          'If such messages are legitimate, raise worker_max_decompressed_size.',
        { cause },
      );
    }
    throw new DecodeError(`Corrupt ${header} body: ${(cause as Error).message}`, { cause });
  }
}
