// Throwaway keys and self-signed certificates for the message-signing tests, made with the openssl CLI in a
// temporary directory at test time (no private key is committed).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Paths of one generated identity. */
export interface TestIdentity {
  readonly key: string;
  readonly cert: string;
}

/** A fresh temporary directory for keys, certificates and stores. */
export function certDir(): string {
  return mkdtempSync(join(tmpdir(), 'celeriac-signing-'));
}

/**
 * A private key and a self-signed certificate `<name>.key` / `<name>.pem` in `dir`. `subject` is openssl's
 * `/C=…/O=…/CN=…`; `ec` makes a P-256 key instead of RSA; `password` encrypts the key (AES-256).
 */
export function makeIdentity(dir: string, name: string, o: { subject?: string; bits?: number; ec?: boolean; password?: string; days?: number } = {}): TestIdentity {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  const newkey = o.ec ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', `rsa:${o.bits ?? 2048}`];
  const encryption = o.password ? ['-passout', `pass:${o.password}`] : ['-nodes'];
  execFileSync('openssl', ['req', '-x509', ...newkey, ...encryption, '-keyout', key, '-out', cert, '-days', String(o.days ?? 2), '-subj', o.subject ?? `/C=US/O=celeriac tests/CN=${name}`], { stdio: 'ignore' });
  return { key, cert };
}

/** A cert store directory in `dir` holding copies of `certs` (what security_cert_store names). */
export function makeStore(dir: string, name: string, certs: readonly string[]): string {
  const store = join(dir, name);
  mkdirSync(store, { recursive: true });
  for (const [i, cert] of certs.entries()) execFileSync('cp', [cert, join(store, `${i}.pem`)]);
  return store;
}
