// A Lamport clock (kombu's LamportClock): one per worker or client, shared by its events and remote control, so
// monitors can order what it sent. No I/O.

/** Logical time: `forward()` before each send, `adjust(received)` on each receive. */
export class LamportClock {
  #value: number;

  constructor(initial = 0) {
    this.#value = initial;
  }

  /** The current value (Celery's app.clock.value). */
  get value(): number {
    return this.#value;
  }

  /** Advance for a local event and return the new value. */
  forward(): number {
    return ++this.#value;
  }

  /** Merge a value seen on a received message: max(mine, theirs) + 1. Non-numbers are ignored. */
  adjust(other: unknown): number {
    if (typeof other === 'number' && Number.isFinite(other)) this.#value = Math.max(this.#value, Math.trunc(other));
    return ++this.#value;
  }
}
