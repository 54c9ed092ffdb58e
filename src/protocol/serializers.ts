// Serializer registry: value ↔ bytes, named by content type (kombu's serialization registry).
// accept_content is enforced before any decoding, and pickle is never decoded.

import { isUtf8 } from 'node:buffer';
import yaml from 'js-yaml';
import { Packr, type Options } from 'msgpackr';
import { ContentDisallowed, DecodeError, EncodeError, ImproperlyConfigured, SecurityError } from '../errors.js';
import { parseJson, reviveKombuTypes, stringifyJson } from './json.js';

/**
 * A value ↔ bytes codec named by its content type (kombu's serialization registry entry). Register custom
 * ones with registerSerializer; pickle is refused.
 */
export interface Serializer {
  /** 'json' | 'msgpack' | 'yaml' | a custom name. */
  readonly name: string;
  readonly contentType: string;
  readonly contentEncoding: 'utf-8' | 'binary';
  encode(value: unknown): Uint8Array;
  /** Throws on malformed input; the registry wraps it in a DecodeError naming the content type. */
  decode(body: Uint8Array): unknown;
}

/** A serialized body with the content type and encoding that go into the message properties. */
export interface Encoded {
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly contentEncoding: string;
}

const PICKLE = 'application/x-python-serialize';

const json: Serializer = {
  name: 'json',
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  // Dates become ISO 8601 strings through Date#toJSON, as kombu's encoder does for datetime; bigint is written
  // exactly and long integers read back as bigint; bytes are refused (protocol/json.ts).
  encode: (value) => Buffer.from(stringifyJson(value), 'utf8'),
  decode: (body) => {
    const text = bytesToString(body);
    const value = parseJson(text);
    // A kombu 5.3+ peer wraps bytes, datetime, uuid … as {"__type__", "__value__"}: only then is the value walked.
    return text.includes('"__type__"') ? reviveKombuTypes(value) : value;
  },
};

// Python's msgpack (raw=False) maps str ↔ str and bytes ↔ bin; records are a JS-only extension, so off.
// int64AsType 'auto': an integer past 2^53 in magnitude decodes as bigint, smaller ones as numbers (msgpackr's README
// documents 'auto'; its type declarations list only 'bigint' | 'number' | 'string').
const PACKR_OPTIONS: Options = { useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true, int64AsType: 'auto' as Options['int64AsType'] };
const packr = new Packr({ ...PACKR_OPTIONS, mapsAsObjects: true });
// msgpackr renames a `__proto__` key to `__proto_` (so it cannot set a prototype); a body holding that text is
// decoded into Maps instead and rebuilt with the key as an own property, as JSON.parse does.
const mapPackr = new Packr({ ...PACKR_OPTIONS, mapsAsObjects: false });
const PROTO = Buffer.from('__proto__');
const msgpack: Serializer = {
  name: 'msgpack',
  contentType: 'application/x-msgpack',
  contentEncoding: 'binary',
  encode: (value) => packr.pack(value),
  decode: (body) => (asBuffer(body).includes(PROTO) ? mapsToObjects(mapPackr.unpack(body)) : packr.unpack(body)),
};

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Maps (from msgpack) → plain objects whose keys are own properties, `__proto__` included; arrays walked. */
function mapsToObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mapsToObjects);
  if (!(value instanceof Map)) return value;
  const object: Record<string, unknown> = {};
  for (const [key, item] of value) {
    Object.defineProperty(object, String(key), { value: mapsToObjects(item), enumerable: true, writable: true, configurable: true });
  }
  return object;
}

const yamlSerializer: Serializer = {
  name: 'yaml',
  contentType: 'application/x-yaml',
  contentEncoding: 'utf-8',
  encode: (value) => Buffer.from(yaml.dump(value, { noRefs: true }), 'utf8'),
  // js-yaml 4's default schema builds only plain data: no functions, no classes.
  decode: (body) => yaml.load(bytesToString(body)),
};

/**
 * UTF-8 text of a body, without copying a Buffer. Bytes that are not valid UTF-8 throw (the decode turns it into
 * DecodeError): replacing them with U+FFFD would run the task with arguments its sender never wrote.
 */
export function bytesToString(body: Uint8Array): string {
  const buffer = asBuffer(body);
  if (!isUtf8(buffer)) throw new DecodeError('the body is not valid UTF-8 (the sender must encode text as UTF-8)');
  return buffer.toString('utf8');
}

const byName = new Map<string, Serializer>();
const byContentType = new Map<string, Serializer>();

/** Register a serializer under its name and content type (Celery's kombu.serialization.register). */
export function registerSerializer(serializer: Serializer): void {
  if (serializer.contentType === PICKLE) {
    throw new ContentDisallowed('Refusing to register a pickle serializer: pickle runs code from messages. Use json, msgpack or yaml.');
  }
  byName.set(serializer.name, serializer);
  byContentType.set(serializer.contentType, serializer);
}
for (const s of [json, msgpack, yamlSerializer]) registerSerializer(s);

/** Look a serializer up by name ('json') or content type ('application/json'). */
export function getSerializer(nameOrType: string): Serializer | undefined {
  return byName.get(nameOrType) ?? byContentType.get(nameOrType);
}

/** Names of the registered serializers (json, msgpack, yaml and custom ones). */
export function serializerNames(): string[] {
  return [...byName.keys()];
}

/**
 * Serialize `value` with a serializer named by name or content type; throws DecodeError when none is registered
 * (ImproperlyConfigured for 'auth' before setupSecurity()), EncodeError when the value does not fit.
 */
export function encode(value: unknown, serializerName: string): Encoded {
  const s = byName.get(serializerName) ?? byContentType.get(serializerName);
  if (!s) {
    if (serializerName === 'auth') throw new ImproperlyConfigured(AUTH_NOT_SET_UP);
    throw new DecodeError(`No serializer named '${serializerName}'. Use one of ${serializerNames().join(', ')}, or registerSerializer() a custom one.`);
  }
  let body: Uint8Array;
  try {
    body = s.encode(value);
  } catch (cause) {
    throw new EncodeError(`Could not encode a value as ${s.name}: ${(cause as Error)?.message ?? String(cause)}. Return plain data (numbers, strings, lists, objects) or choose a serializer that holds this value.`, { cause });
  }
  return { body, contentType: s.contentType, contentEncoding: s.contentEncoding };
}

const contentTypeAliases: Record<string, string> = {
  json: 'application/json',
  msgpack: 'application/x-msgpack',
  yaml: 'application/x-yaml',
  pickle: PICKLE,
  auth: 'application/data',
};

/** What using 'auth' says until message signing (src/security/) registers it in this process. */
export const AUTH_NOT_SET_UP = "The 'auth' serializer (message signing) is not set up in this process: set security_key, security_certificate and security_cert_store, then call app.setupSecurity().";

/** accept_content as given (names or content types) → the set of content types it allows. */
export function acceptSet(accept: readonly string[]): ReadonlySet<string> {
  return new Set(accept.map((a) => contentTypeAliases[a] ?? getSerializer(a)?.contentType ?? a));
}

/**
 * Refuse a content type outside `accept`, and pickle always, before any byte of the body is touched
 * (decompressed or decoded). Returns the effective content type; throws ContentDisallowed.
 */
export function refuseUnaccepted(contentType: string, accept: ReadonlySet<string>, where = ''): string {
  const type = contentType || 'application/data';
  const at = where ? ` (${where})` : '';
  if (!accept.has(type)) {
    if (accept.size === 1 && accept.has('application/data')) {
      throw new ContentDisallowed(`Refusing an unsigned message of type ${type}${at}: only signed messages are accepted (accept_content = ['auth']). Send it from an app set up with setupSecurity().`);
    }
    throw new ContentDisallowed(
      `Refusing to deserialize untrusted content of type ${type}${at}. ` +
        `Add it to accept_content only if every sender on this broker is trusted.`,
    );
  }
  if (type === PICKLE) {
    throw new ContentDisallowed(`Refusing to deserialize pickle${at}: it can run code. Send json, msgpack or yaml instead.`);
  }
  return type;
}

/**
 * Decode a body, refusing content types outside `accept` before touching the bytes.
 * `where` names the message for the error (task id, queue).
 */
export function decode(encoded: { body: Uint8Array; contentType: string }, accept: ReadonlySet<string>, where = ''): unknown {
  const type = refuseUnaccepted(encoded.contentType, accept, where);
  const at = where ? ` (${where})` : '';
  const s = byContentType.get(type);
  if (!s) throw new DecodeError(type === 'application/data' ? `${AUTH_NOT_SET_UP} (a signed message${at})` : `No serializer for content type ${type}${at}. registerSerializer() one, or send json.`);
  try {
    return s.decode(encoded.body);
  } catch (cause) {
    if (SecurityError.is(cause)) throw cause;
    throw new DecodeError(`Malformed ${s.name} body${at}: ${(cause as Error).message}`, { cause });
  }
}
