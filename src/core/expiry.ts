/**
 * One timer for many deadlines: a binary min-heap of (time, id). Used for token expiry (and reusable by the
 * lease manager) so that a million tokens do not mean a million timers.
 */
export class ExpiryQueue {
  private heap: { at: number; id: string }[] = [];
  private deadlines = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly onExpire: (id: string) => Promise<void>) {}

  schedule(id: string, at: number): void {
    this.deadlines.set(id, at);
    this.heap.push({ at, id });
    this.siftUp(this.heap.length - 1);
    // Only a new earliest deadline moves the timer (restoring 100,000 leases must not re-arm it each time).
    if (!this.timer || this.heap[0].at === at) this.arm();
  }

  cancel(id: string): void {
    // Lazy deletion: stale heap entries are skipped when they surface.
    this.deadlines.delete(id);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.heap = [];
    this.deadlines.clear();
  }

  get size(): number {
    return this.deadlines.size;
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.heap[0];
    if (!next) return;
    // setTimeout's delay is a 32-bit signed integer of milliseconds.
    const delay = Math.min(Math.max(next.at - Date.now(), 0), 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.fire(), delay);
    this.timer.unref();
  }

  private async fire(): Promise<void> {
    this.timer = null;
    const now = Date.now();
    while (this.heap.length && this.heap[0].at <= now && !this.stopped) {
      const { at, id } = this.pop();
      if (this.deadlines.get(id) !== at) continue;
      this.deadlines.delete(id);
      try {
        await this.onExpire(id);
      } catch {
        // Retry later rather than dropping the deadline.
        this.schedule(id, Date.now() + 5000);
      }
    }
    this.arm();
  }

  private pop() {
    const top = this.heap[0];
    const last = this.heap.pop()!;
    if (this.heap.length) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].at < h[m].at) m = l;
      if (r < h.length && h[r].at < h[m].at) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}
