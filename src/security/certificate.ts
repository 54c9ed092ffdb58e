// X.509 certificates and private keys for message signing (celery.security's Certificate and PrivateKey), on
// node:crypto. Celery signs with RSA-PSS: MGF1 over the message digest and the largest salt the key allows, so
// only RSA keys interoperate; the signature is as long as the modulus (key size / 8 bytes).

import { X509Certificate, constants, createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { SecurityError } from '../errors.js';
import { certificateId } from './x509-name.js';

// Celery's security_digest names (attributes of cryptography's `hashes`, lower case) → OpenSSL digest names.
const DIGESTS: Readonly<Record<string, { openssl: string; bytes: number }>> = {
  sha1: { openssl: 'sha1', bytes: 20 },
  sha224: { openssl: 'sha224', bytes: 28 },
  sha256: { openssl: 'sha256', bytes: 32 },
  sha384: { openssl: 'sha384', bytes: 48 },
  sha512: { openssl: 'sha512', bytes: 64 },
  sha512_224: { openssl: 'sha512-224', bytes: 28 },
  sha512_256: { openssl: 'sha512-256', bytes: 32 },
  sha3_224: { openssl: 'sha3-224', bytes: 28 },
  sha3_256: { openssl: 'sha3-256', bytes: 32 },
  sha3_384: { openssl: 'sha3-384', bytes: 48 },
  sha3_512: { openssl: 'sha3-512', bytes: 64 },
};

/** A digest for signing, by Celery's name (security_digest: 'sha256', 'sha512', 'sha3_256' …). */
export interface Digest {
  /** Celery's name, lower case. */
  readonly name: string;
  readonly openssl: string;
  /** Output length in bytes. */
  readonly bytes: number;
}

/** Look up security_digest (case-insensitive, as Celery upper-cases it); throws SecurityError for an unknown one. */
export function digestNamed(name: string): Digest {
  const key = name.toLowerCase();
  const found = Object.hasOwn(DIGESTS, key) ? DIGESTS[key] : undefined;
  if (!found) throw new SecurityError(`Unknown security_digest '${name}'. Use one of ${Object.keys(DIGESTS).join(', ')} (sha256 is the default).`);
  return { name: key, ...found };
}

/** PSS with the largest salt the key allows: emLen − hLen − 2 (cryptography's PSS.MAX_LENGTH). */
function maxSalt(modulusBits: number, digest: Digest): number {
  return Math.ceil((modulusBits - 1) / 8) - digest.bytes - 2;
}

/** An X.509 certificate trusted for, or used in, message signing (celery.security's Certificate). */
export class Certificate {
  /** Celery's signer id: issuer values and serial number (see certificateId). */
  readonly id: string;
  /** RSA modulus size in bits; a signature by this certificate's key is `modulusBits >> 3` bytes. */
  readonly modulusBits: number;
  /** The last moment the certificate is valid (its notAfter), epoch milliseconds. */
  readonly validToMs: number;

  private constructor(readonly x509: X509Certificate, readonly where: string) {
    this.id = certificateId(x509.raw);
    const key = x509.publicKey;
    if (key.asymmetricKeyType !== 'rsa') {
      throw new SecurityError(`The certificate ${where} holds a${key.asymmetricKeyType === 'ec' ? 'n EC' : ` ${key.asymmetricKeyType ?? 'unknown'}`} key; Celery's auth serializer signs with RSA-PSS only. Issue an RSA certificate (2048 bits or more).`);
    }
    this.modulusBits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    this.validToMs = Date.parse(x509.validTo);
  }

  /** Parse a PEM certificate (the first one in `pem`); `where` names its file for errors. Throws SecurityError. */
  static fromPem(pem: string | Uint8Array, where: string): Certificate {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(pem);
    } catch (cause) {
      throw new SecurityError(`Invalid certificate ${where}: ${(cause as Error).message}. Give a PEM file (-----BEGIN CERTIFICATE-----).`, { cause });
    }
    return new Certificate(x509, where);
  }

  /** Whether the certificate's notAfter has passed at `nowMs` (Celery refuses expired certificates). */
  hasExpired(nowMs = Date.now()): boolean {
    return !(nowMs < this.validToMs);
  }

  /** Check an RSA-PSS signature over `data`; throws SecurityError('Bad signature …') when it does not match. */
  verify(data: Uint8Array, signature: Uint8Array, digest: Digest): void {
    const ok = verify(digest.openssl, data, {
      key: this.x509.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: maxSalt(this.modulusBits, digest),
    }, signature);
    if (!ok) throw new SecurityError(`Bad signature: the message does not match its signature by '${this.id}' (altered, or signed with another key or digest).`);
  }

  /** Whether `key` is this certificate's private key. */
  matches(key: KeyObject): boolean {
    return this.x509.checkPrivateKey(key);
  }
}

/** A private key that signs messages (celery.security's PrivateKey): RSA, PEM, optionally encrypted. */
export class PrivateKey {
  private constructor(private readonly key: KeyObject, private readonly modulusBits: number) {}

  /**
   * Parse a PEM private key; `password` decrypts an encrypted one (security_key_password). `where` names the
   * file for errors. Throws SecurityError, never including the key or password in the message.
   */
  static fromPem(pem: string | Uint8Array, where: string, password?: string | null): PrivateKey {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: Buffer.from(pem), format: 'pem', ...(password ? { passphrase: password } : {}) });
    } catch (cause) {
      const hint = password ? 'check security_key_password' : 'if the key is encrypted, set security_key_password';
      throw new SecurityError(`Invalid private key ${where}: ${(cause as Error).message.split('\n')[0]} (${hint}).`);
    }
    if (key.asymmetricKeyType !== 'rsa') {
      throw new SecurityError(`The private key ${where} is ${key.asymmetricKeyType ?? 'of an unknown type'}; Celery's auth serializer signs with RSA-PSS only. Use an RSA key (2048 bits or more).`);
    }
    return new PrivateKey(key, key.asymmetricKeyDetails?.modulusLength ?? 0);
  }

  /** The node:crypto key, for matching it against its certificate. */
  get keyObject(): KeyObject {
    return this.key;
  }

  /** Sign `data` with RSA-PSS (MGF1 over `digest`, the largest salt), as Celery does. */
  sign(data: Uint8Array, digest: Digest): Buffer {
    return sign(digest.openssl, data, { key: this.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: maxSalt(this.modulusBits, digest) });
  }
}
