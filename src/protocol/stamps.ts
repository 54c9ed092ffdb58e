// Celery 5.3+ stamping on the wire: a message carries `stamped_headers` (the stamp names) and `stamps` (name →
// value); a signature carries them in its options as `stamped_headers` plus one option per stamp name. Pure data.

/** The stamps of a message, as the worker exposes them on self.request. */
export interface Stamps {
  /** The stamp names, or null when the message has none. */
  readonly stampedHeaders: string[] | null;
  readonly stamps: Record<string, unknown>;
}

const NONE: Stamps = Object.freeze({ stampedHeaders: null, stamps: Object.freeze({}) as Record<string, unknown> });

/**
 * The stamps that options ask a send to carry: `stampedHeaders`/`stamps` (ApplyOptions), or Celery's signature
 * options `stamped_headers` with each stamp's value under its own name (as Python 5.3+ stamps a canvas).
 */
export function stampsFromOptions(options: Readonly<Record<string, unknown>>): Stamps {
  const names = options.stampedHeaders ?? options.stamped_headers;
  if (!Array.isArray(names) || names.length === 0) return NONE;
  const given = options.stamps && typeof options.stamps === 'object' ? (options.stamps as Record<string, unknown>) : {};
  const valid = names.filter((n): n is string => typeof n === 'string');
  return { stampedHeaders: valid, stamps: Object.fromEntries(valid.map((n) => [n, n in given ? given[n] : (options[n] ?? null)])) };
}
