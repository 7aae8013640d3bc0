/**
 * Work that many callers ask for but that one run serves all of them (rebuilding a list from the records
 * behind it): runs never overlap, and a request is answered by the first run that starts after it.
 *
 *   now(work)   runs as soon as no run is under way and resolves (or rejects) with the first run that starts
 *               after the call: callers arriving during a run share the next one.
 *   soon(work)  fire and forget: the run waits until no request came for `quietMs`, but never longer than
 *               `maxDelayMs` after the first waiting request, so a burst of thousands is served by a few runs.
 *
 * `work` is the latest function given (they all do the same thing with the latest inputs).
 */
export interface CoalescedWorkOptions {
  quietMs: number;
  maxDelayMs: number;
}

interface Waiter {
  generation: number;
  settle(error: { error: unknown } | null): void;
}

export class CoalescedWork {
  /** Generation of the latest request; a run started at generation g serves every request up to g. */
  private requested = 0;
  private served = 0;
  private running: Promise<void> | null = null;
  private waiters: Waiter[] = [];
  private work: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** When the oldest request still waiting for the timer came in (0: none). */
  private deferredSince = 0;
  private stopped = false;

  constructor(private readonly opts: CoalescedWorkOptions) {}

  now(work: () => Promise<void>): Promise<void> {
    this.work = work;
    const generation = ++this.requested;
    const done = new Promise<void>((resolve, reject) => {
      this.waiters.push({ generation, settle: (failure) => (failure ? reject(failure.error) : resolve()) });
    });
    this.start();
    return done;
  }

  soon(work: () => Promise<void>): void {
    this.work = work;
    this.requested++;
    this.arm();
  }

  /** True while a request has not been served by a finished run. */
  get pending(): boolean {
    return this.served < this.requested;
  }

  /** Cancels the timer and waits for a run under way; later requests are refused. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (!this.deferredSince) this.deferredSince = now;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.opts.quietMs, this.deferredSince + this.opts.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, delay);
    this.timer.unref();
  }

  private start(): void {
    if (this.running || !this.pending) return;
    if (this.stopped) {
      this.settleUpTo(this.requested, { error: new Error('stopped') });
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      // A now() that arrived as the last run was finishing.
      if (this.waiters.length) this.start();
    });
  }

  private async drain(): Promise<void> {
    do {
      const generation = this.requested;
      // This run serves the requests waiting for the timer too.
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.deferredSince = 0;
      let failure: { error: unknown } | null = null;
      try {
        await this.work!();
      } catch (error) {
        failure = { error };
      }
      this.served = generation;
      this.settleUpTo(generation, failure);
      // Callers waiting now run again at once; requests that only asked for "soon" go back to the timer.
    } while (this.waiters.length && !this.stopped);
    if (this.pending) this.arm();
  }

  private settleUpTo(generation: number, failure: { error: unknown } | null): void {
    const ready = this.waiters.filter((w) => w.generation <= generation);
    this.waiters = this.waiters.filter((w) => w.generation > generation);
    for (const w of ready) w.settle(failure);
  }
}
