// Coordination: a few shared registers a broker (or result store) keeps for processes that must agree, such as
// several beats electing one leader and claiming each due run once. The interface, and the in-memory version
// for the memory broker and tests. Redis and SQL versions: redis-coordination.ts, sql-coordination.ts.

/**
 * Atomic registers and leases kept by a shared store. Every method is atomic across all processes using the same
 * store; keys are short names (the implementation adds its own prefix or table).
 */
export interface Coordination {
  /** Where the registers live, password hidden (for logs and the banner). */
  readonly where: string;
  /** The register's value, or null when it was never set. */
  get(key: string): Promise<string | null>;
  /**
   * Set the register to `value` only if it holds `expected` now (null = never set). True when it was set; false
   * when another process changed it first. The building block of "claim this run once".
   */
  compareAndSet(key: string, expected: string | null, value: string): Promise<boolean>;
  /**
   * Take or renew the lease `key` for `holder` for `ttlMs` from now, on the store's clock where it has one. True
   * when `holder` holds it afterwards; false while another holder's lease has not expired.
   */
  lease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Give the lease up if `holder` holds it (a successor need not wait for it to expire). */
  release(key: string, holder: string): Promise<void>;
}

/** Coordination in this process's memory: for the memory broker (one process) and tests. */
export class MemoryCoordination implements Coordination {
  readonly where = 'memory://';
  private readonly registers = new Map<string, string>();
  private readonly leases = new Map<string, { holder: string; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(key: string): Promise<string | null> {
    return this.registers.get(key) ?? null;
  }

  async compareAndSet(key: string, expected: string | null, value: string): Promise<boolean> {
    if ((this.registers.get(key) ?? null) !== expected) return false;
    this.registers.set(key, value);
    return true;
  }

  async lease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const current = this.leases.get(key);
    if (current && current.holder !== holder && current.until > now) return false;
    this.leases.set(key, { holder, until: now + ttlMs });
    return true;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
  }
}
