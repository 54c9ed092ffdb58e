// app.setupSecurity(): what it requires (Celery's setup_security contract), the errors it gives, and what a
// process with signing set up sends and refuses. Registration is process-wide, so each step builds on the last.

import { beforeAll, describe, expect, it } from 'vitest';
import { ContentDisallowed, ImproperlyConfigured, SecurityError } from '../../../src/errors.js';
import { Celery } from '../../../src/index.js';
import { acceptSet, decode, encode, refuseUnaccepted } from '../../../src/protocol/serializers.js';
import { signingIsSetUp } from '../../../src/security/setup.js';
import { compileWorkerSettings } from '../../../src/worker/settings.js';
import { certDir, makeIdentity, makeStore, type TestIdentity } from '../../support/certs.js';

let dir: string;
let worker: TestIdentity;
let other: TestIdentity;
let store: string;

beforeAll(() => {
  dir = certDir();
  worker = makeIdentity(dir, 'worker');
  other = makeIdentity(dir, 'other');
  store = makeStore(dir, 'store', [worker.cert]);
});

const signedConf = () => ({ task_serializer: 'auth', accept_content: ['auth'] });

describe('app.setupSecurity()', () => {
  it("accepts 'auth' in the serializer settings (signing is built)", () => {
    expect(() => new Celery('s', { task_serializer: 'auth', result_serializer: 'auth', accept_content: ['auth'] } as never)).not.toThrow();
  });

  it("requires task_serializer 'auth' and accept_content ['auth'], as Celery does", () => {
    const app = new Celery('s', { security_key: worker.key, security_certificate: worker.cert, security_cert_store: store } as never);
    expect(() => app.setupSecurity()).toThrow(ImproperlyConfigured);
    expect(() => app.setupSecurity()).toThrow(/task_serializer = 'auth'.*accept_content = \['auth'\].*Now task_serializer = "json", accept_content = \["json"\]/);
  });

  it('names each missing setting', () => {
    const app = new Celery('s', { ...signedConf(), security_certificate: worker.cert } as never);
    expect(() => app.setupSecurity()).toThrow(/Message signing needs security_key, security_cert_store: set them/);
  });

  it('refuses a key that is not the certificate\'s, an unreadable file and an unknown digest, registering nothing', () => {
    const app = new Celery('s', { ...signedConf(), security_key: other.key, security_certificate: worker.cert, security_cert_store: store } as never);
    expect(() => app.setupSecurity()).toThrow(SecurityError);
    expect(() => app.setupSecurity()).toThrow(/is not the key of security_certificate/);
    expect(() => app.setupSecurity({ key: `${dir}/missing.key` })).toThrow(/security_key '.*missing\.key' cannot be read/);
    expect(() => app.setupSecurity({ key: worker.key, digest: 'md4' })).toThrow(/Unknown security_digest 'md4'/);
    expect(signingIsSetUp()).toBe(false);
  });

  it("until set up, sending with 'auth' or starting a worker that accepts it says what to do", async () => {
    const client = new Celery('s', { ...signedConf(), broker: 'memory://unsigned-client', backend: 'memory://unsigned-client' } as never);
    await expect(client.sendTask('tasks.add', [1, 2])).rejects.toThrow(ImproperlyConfigured);
    await expect(client.sendTask('tasks.add', [1, 2])).rejects.toThrow(/'auth' serializer \(message signing\) is not set up in this process/);
    await client.close();
    expect(() => encode([[], {}, {}], 'auth')).toThrow(ImproperlyConfigured);
    expect(() => encode([[], {}, {}], 'auth')).toThrow(/not set up in this process: set security_key.*app\.setupSecurity\(\)/);
    const app = new Celery('s', signedConf() as never);
    expect(() => compileWorkerSettings(app.conf)).toThrow(ImproperlyConfigured);
    expect(() => compileWorkerSettings(app.conf)).toThrow(/accept_content names 'auth'\. The 'auth' serializer \(message signing\) is not set up/);
  });

  it('registers auth: values are signed, verified when read, and unsigned ones refused with a clear reason', () => {
    const app = new Celery('s', { ...signedConf(), security_key: worker.key, security_certificate: worker.cert, security_cert_store: store } as never);
    app.setupSecurity();
    expect(signingIsSetUp()).toBe(true);
    const accept = acceptSet(app.conf.get('accept_content') as string[]);
    const signed = encode([[1, 2], {}, {}], 'auth');
    expect(signed.contentType).toBe('application/data');
    expect(decode(signed, accept)).toEqual([[1, 2], {}, {}]);
    const unsigned = encode([[1, 2], {}, {}], 'json');
    expect(() => decode(unsigned, accept, 'task t1')).toThrow(ContentDisallowed);
    expect(() => refuseUnaccepted(unsigned.contentType, accept, 'task t1')).toThrow(/Refusing an unsigned message of type application\/json \(task t1\): only signed messages are accepted/);
  });

  it('passes SecurityError through the registry unwrapped, so the worker refuses without storing a result', () => {
    const accept = acceptSet(['auth']);
    const body = Buffer.from(encode({ a: 1 }, 'auth').body);
    const raw = Buffer.from(body.toString('latin1'), 'base64');
    raw[raw.length - 2] ^= 1;
    const forged = { body: Buffer.from(raw.toString('base64')), contentType: 'application/data' };
    const error = (() => {
      try {
        decode(forged, accept, 'task t2');
      } catch (e) {
        return e;
      }
    })();
    expect(SecurityError.is(error)).toBe(true);
    expect(ContentDisallowed.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Bad signature/);
  });
});
