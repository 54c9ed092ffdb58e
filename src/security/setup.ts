// app.setupSecurity(): Celery's app.setup_security(). It changes no setting: as in Celery, task_serializer must
// already be 'auth' and accept_content ['auth'] (signing is pointless when unsigned messages are still read).
// It reads the key, certificate and store named by the arguments or the security_* settings, checks them, and
// registers the `auth` serializer. Like Celery's, the registration is process-wide (the serializer registry is).

import { readFileSync, statSync } from 'node:fs';
import { ImproperlyConfigured, SecurityError } from '../errors.js';
import { getSerializer, registerSerializer } from '../protocol/serializers.js';
import { AUTH_CONTENT_TYPE, authSerializer } from './auth-serializer.js';
import { loadCertStore } from './cert-store.js';
import { Certificate, PrivateKey, digestNamed } from './certificate.js';

/** app.setupSecurity()'s arguments; each one left out comes from its setting (Celery's setup_security). */
export interface SecurityOptions {
  /** Path of the PEM private key (security_key). */
  readonly key?: string;
  /** Password of an encrypted key (security_key_password). */
  readonly keyPassword?: string;
  /** Path of the signer's PEM certificate (security_certificate). */
  readonly cert?: string;
  /** Directory, file or glob of trusted PEM certificates (security_cert_store). */
  readonly store?: string;
  /** Digest name (security_digest; default 'sha256'). */
  readonly digest?: string;
  /** Serializer of the signed value (Celery's `serializer` argument; default 'json'). */
  readonly serializer?: string;
}

/** Told when task_serializer or accept_content does not ask for signed messages. */
export const SETTINGS_NOT_SIGNED =
  "Message signing needs task_serializer = 'auth' (sign what is sent) and accept_content = ['auth'] " +
  '(read nothing unsigned). Set both, then call app.setupSecurity().';

const MAX_PEM_BYTES = 1 << 20;

function readPem(path: string, setting: string): Buffer {
  try {
    if (statSync(path).size > MAX_PEM_BYTES) throw new SecurityError(`${setting} '${path}' is over ${MAX_PEM_BYTES} bytes: not a PEM file.`);
    return readFileSync(path);
  } catch (cause) {
    if (SecurityError.is(cause)) throw cause;
    throw new ImproperlyConfigured(`${setting} '${path}' cannot be read: ${(cause as Error).message}.`, { cause, context: { setting } });
  }
}

/** Whether the `auth` serializer is registered (setupSecurity ran in this process). */
export function signingIsSetUp(): boolean {
  return getSerializer(AUTH_CONTENT_TYPE)?.name === 'auth';
}

/**
 * Set up message signing for the process (Celery's setup_security): check task_serializer and accept_content,
 * load the key (decrypted with keyPassword), the signer certificate (it must match the key and be unexpired) and
 * the cert store, then register `auth`. `setting` reads the app's settings. Throws ImproperlyConfigured for
 * missing or contradicting settings, SecurityError for keys and certificates that cannot be used.
 */
export function setupSecurity(setting: (name: string) => unknown, options: SecurityOptions = {}): void {
  const accept = setting('accept_content');
  if (setting('task_serializer') !== 'auth' || !Array.isArray(accept) || accept.length !== 1 || !['auth', AUTH_CONTENT_TYPE].includes(accept[0])) {
    throw new ImproperlyConfigured(`${SETTINGS_NOT_SIGNED} Now task_serializer = ${JSON.stringify(setting('task_serializer'))}, accept_content = ${JSON.stringify(accept)}.`);
  }
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const keyPath = options.key ?? text(setting('security_key'));
  const certPath = options.cert ?? text(setting('security_certificate'));
  const storePath = options.store ?? text(setting('security_cert_store'));
  const missing = [['security_key', keyPath], ['security_certificate', certPath], ['security_cert_store', storePath]].filter(([, v]) => !v).map(([n]) => n);
  if (missing.length > 0) {
    throw new ImproperlyConfigured(`Message signing needs ${missing.join(', ')}: set ${missing.length > 1 ? 'them' : 'it'} (or pass key, cert and store to app.setupSecurity()).`, { context: { setting: missing[0] } });
  }
  const digest = digestNamed(options.digest ?? text(setting('security_digest')) ?? 'sha256');
  const serializer = options.serializer ?? 'json';
  if (serializer === 'auth' || !getSerializer(serializer)) {
    throw new ImproperlyConfigured(`setupSecurity(): serializer '${serializer}' cannot carry signed values. Use json (the default), msgpack or yaml.`);
  }
  const key = PrivateKey.fromPem(readPem(keyPath!, 'security_key'), keyPath!, options.keyPassword ?? text(setting('security_key_password')));
  const cert = Certificate.fromPem(readPem(certPath!, 'security_certificate'), certPath!);
  if (!cert.matches(key.keyObject)) throw new SecurityError(`security_key ${keyPath} is not the key of security_certificate ${certPath}: receivers would refuse every message. Pair each key with its own certificate.`);
  if (cert.hasExpired()) throw new SecurityError(`security_certificate ${certPath} expired at ${new Date(cert.validToMs).toISOString()}: receivers refuse messages it signs. Renew it.`);
  const store = loadCertStore(storePath!);
  registerSerializer(authSerializer({ key, cert, store, digest, serializer }));
}
