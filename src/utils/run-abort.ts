// A run's abort (revoke terminate, soft and hard time limits) whose AbortSignal is made only when something reads
// it. An AbortController costs microseconds of CPU and garbage per task (measured: about 6 µs on Node 20), and most
// tasks never look at their signal: the flag and the reason are kept here, the controller built on first use.

/** What a run's code may read of its abort: whether it happened, why, and the signal (built on first read). */
export interface AbortView {
  readonly aborted: boolean;
  /** The reason given to abort(); undefined until then. */
  readonly reason: unknown;
  /** An AbortSignal that is (or becomes) aborted with the same reason. */
  readonly signal: AbortSignal;
}

/** The abort of one task run (Celery's soft time limit or revoke reaching the task), with a lazily built signal. */
export class RunAbort implements AbortView {
  #controller?: AbortController;
  #aborted = false;
  #reason: unknown;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Abort once with `reason` (later calls are ignored, as AbortController's are); listeners of a built signal fire now. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
