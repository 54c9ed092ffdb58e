// Broker URL (+ broker_use_ssl, broker_transport_options) → what amqplib's connect() takes. Pure apart from reading
// certificate files named by Python-style broker_use_ssl keys.

import { readFileSync } from 'node:fs';
import { ImproperlyConfigured } from '../../errors.js';
import { censorWhenInspected } from '../../config/humanize.js';
import { parseUrl, type ParsedUrl } from '../../config/urls.js';
import type { TransportOptions } from '../transport.js';

/** amqplib's object form of a URL (so we do the parsing: `//` means vhost '/', passwords with odd characters). */
export interface AmqpEndpoint {
  protocol: 'amqp' | 'amqps';
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  heartbeat: number;
  frameMax: number;
  locale: string;
  /** The URL with its password hidden. */
  redacted: string;
}

/** What amqplib's connect() takes for each failover URL, tried in order, plus the socket (TLS) options. */
export interface ConnectPlan {
  endpoints: AmqpEndpoint[];
  socketOptions: Record<string, unknown>;
}

function num(value: unknown, fallback: number): number {
  const n = Number(value);
  return value === undefined || value === null || value === '' || !Number.isFinite(n) ? fallback : n;
}

/** Python's broker_use_ssl keys (ssl.wrap_socket arguments) → Node's tls.connect options; Node keys pass through. */
export function tlsOptions(ssl: Readonly<Record<string, unknown>> | boolean | undefined): Record<string, unknown> {
  if (!ssl || ssl === true) return {};
  const out: Record<string, unknown> = {};
  const file = (path: unknown, setting: string) => {
    try {
      return readFileSync(String(path));
    } catch (error) {
      throw new ImproperlyConfigured(`broker_use_ssl ${setting} names ${String(path)}, which cannot be read (${(error as Error).message}). Point it at a PEM file.`, { context: { setting: 'broker_use_ssl' } });
    }
  };
  for (const [key, value] of Object.entries(ssl)) {
    switch (key) {
      case 'keyfile': out.key = file(value, 'keyfile'); break;
      case 'certfile': out.cert = file(value, 'certfile'); break;
      case 'ca_certs': out.ca = file(value, 'ca_certs'); break;
      case 'cert_reqs':
        // ssl.CERT_NONE is 0; anything else asks for verification.
        out.rejectUnauthorized = !(value === 0 || value === 'CERT_NONE' || value === 'ssl.CERT_NONE' || value === false);
        break;
      case 'server_hostname': out.servername = value; break;
      default: out[key] = value;
    }
  }
  return out;
}

/** How to reach the broker: one endpoint per failover URL, plus socket/TLS options. */
export function connectPlan(options: TransportOptions): ConnectPlan {
  const parsed = parseUrl(options.url, { setting: 'broker_url' });
  const t = options.transportOptions ?? {};
  const tls = parsed.tls || Boolean(options.ssl);
  const endpoint = (p: ParsedUrl): AmqpEndpoint => {
    const secure = p.tls || tls;
    return {
      protocol: secure ? 'amqps' : 'amqp',
      hostname: p.hostname ?? 'localhost',
      port: p.port ?? (secure ? 5671 : 5672),
      // amqplib's own default, and kombu's: guest/guest when the URL names nobody.
      username: p.username ?? (p.password === null ? 'guest' : ''),
      password: p.password ?? (p.username === null ? 'guest' : ''),
      // amqplib unescapes the vhost once more; escape the decoded name so '%' in it survives.
      vhost: encodeURIComponent(p.path ?? '/'),
      heartbeat: num(p.query.heartbeat ?? t.heartbeat ?? options.heartbeatS, 60),
      frameMax: num(p.query.frame_max ?? t.frame_max, 131072),
      locale: 'en_US',
      redacted: p.redacted,
    };
  };
  // Printed (console.log, util.inspect), an endpoint shows its password censored.
  const endpoints = [parsed, ...parsed.alternates].map((p) => censorWhenInspected(endpoint(p)));
  const socketOptions: Record<string, unknown> = {
    noDelay: true,
    keepAlive: true,
    timeout: options.connectTimeoutMs ?? 10_000,
    clientProperties: {
      product: 'celeriac',
      capabilities: { consumer_cancel_notify: true, 'connection.blocked': true, authentication_failure_close: true },
    },
    ...(tls ? tlsOptions(options.ssl) : {}),
  };
  return { endpoints, socketOptions };
}
