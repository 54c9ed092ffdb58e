// The trusted certificates a signed message may name (celery.security's FSCertStore): every file of a directory,
// or the files a glob pattern matches (wildcards in the last path segment), each one PEM certificate. As in
// Celery, an expired, invalid or duplicated certificate makes the whole store fail to load, and a message whose
// signer is not in the store is refused. Celery checks no issuer chain: trust is being in the store.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { globMatch } from '../protocol/control.js';
import { SecurityError } from '../errors.js';
import { Certificate } from './certificate.js';

/** A certificate file larger than this is not a certificate: refused before it is read. */
const MAX_CERT_FILE_BYTES = 1 << 20;
/** More files than this in a store is a misconfiguration (e.g. a glob over a whole disk): refused. */
const MAX_CERTS = 10_000;

/** Trusted certificates by Celery's signer id. */
export class CertStore {
  private readonly byId = new Map<string, Certificate>();

  /** Add a certificate; throws SecurityError if one with the same id (issuer and serial) is already in. */
  add(cert: Certificate): void {
    const earlier = this.byId.get(cert.id);
    if (earlier) throw new SecurityError(`Duplicate certificate '${cert.id}': ${earlier.where} and ${cert.where} have the same issuer and serial number. Keep one.`);
    this.byId.set(cert.id, cert);
  }

  /**
   * The certificate that signed a message, by signer id; throws SecurityError when it is not in the store or has
   * expired since the store was loaded.
   */
  get(id: string, nowMs = Date.now()): Certificate {
    const cert = this.byId.get(id);
    if (!cert) throw new SecurityError(`Unknown certificate: '${id.slice(0, 300)}' is not in security_cert_store. Add the sender's certificate to the store, or refuse the sender.`);
    if (cert.hasExpired(nowMs)) throw new SecurityError(`Expired certificate: '${id}' (${cert.where}) expired at ${new Date(cert.validToMs).toISOString()}. Renew it.`);
    return cert;
  }

  /** Number of trusted certificates. */
  get size(): number {
    return this.byId.size;
  }
}

/** The files `path` names: a directory's entries (not dotfiles, as glob's `*`), or the matches of a glob pattern. */
function storeFiles(path: string): string[] {
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  let dir = path;
  let pattern = '*';
  if (!isDir(path)) {
    dir = dirname(path);
    pattern = basename(path);
    if (/[*?[]/.test(dir)) throw new SecurityError(`security_cert_store '${path}': wildcards are supported in the file name only. Name a directory, a file, or a pattern such as /etc/ssl/celery/*.pem.`);
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (cause) {
    throw new SecurityError(`security_cert_store '${path}' cannot be read: ${(cause as Error).message}.`, { cause });
  }
  return names
    .filter((name) => !name.startsWith('.') && globMatch(pattern, name))
    .sort()
    .map((name) => join(dir, name))
    .filter((file) => !isDir(file));
}

/**
 * Load the trusted certificates from `path` (security_cert_store): a directory, a file or a glob pattern.
 * Throws SecurityError when a file is not a PEM certificate, a certificate has expired, two share an id, or
 * nothing matches (every signed message would be refused).
 */
export function loadCertStore(path: string, nowMs = Date.now()): CertStore {
  const files = storeFiles(path);
  if (files.length === 0) throw new SecurityError(`security_cert_store '${path}' holds no certificate: every signed message would be refused. Put the PEM certificates of trusted senders there.`);
  if (files.length > MAX_CERTS) throw new SecurityError(`security_cert_store '${path}' matches ${files.length} files (at most ${MAX_CERTS}). Name the directory of trusted certificates only.`);
  const store = new CertStore();
  for (const file of files) {
    if (statSync(file).size > MAX_CERT_FILE_BYTES) throw new SecurityError(`${file} in security_cert_store is over ${MAX_CERT_FILE_BYTES} bytes: not a certificate.`);
    const cert = Certificate.fromPem(readFileSync(file), file);
    if (cert.hasExpired(nowMs)) throw new SecurityError(`Expired certificate: '${cert.id}' (${file}) expired at ${new Date(cert.validToMs).toISOString()}. Renew it or remove it from security_cert_store.`);
    store.add(cert);
  }
  return store;
}
