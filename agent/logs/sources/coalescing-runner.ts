/**
 * Runs an async task one at a time: asked again while it runs, it runs once more right after
 * (however often it was asked). `soon()` asks after a short delay, at most once per `minGapMs`,
 * for bursts of events that each want a run. The task must not reject (it handles its own
 * errors): `soon()` does not wait for the runs it starts.
 */
export class CoalescingRunner {
  private inProgress?: Promise<void>;
  private again = false;
  private stopped = false;
  private soonTimer?: NodeJS.Timeout;
  private lastSoonAt = 0;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly minGapMs: number,
  ) {}

  /** Resolves when the run in progress, or the one this call starts, is done (with the reruns asked for meanwhile). */
  run(): Promise<void> {
    if (this.inProgress) {
      this.again = true;
      return this.inProgress;
    }
    this.inProgress = (async () => {
      do {
        this.again = false;
        await this.task();
      } while (this.again && !this.stopped);
    })().finally(() => (this.inProgress = undefined));
    return this.inProgress;
  }

  soon(): void {
    if (this.soonTimer || this.stopped) return;
    const wait = Math.max(25, this.lastSoonAt + this.minGapMs - Date.now());
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      this.lastSoonAt = Date.now();
      void this.run();
    }, wait);
  }

  /**
   * No rerun and no `soon()` run starts any more (a `run()` called later still runs once, as the
   * tail manager's stop relies on nobody calling it); resolves when the run in progress is done.
   */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.soonTimer) clearTimeout(this.soonTimer);
    return this.inProgress ?? Promise.resolve();
  }
}
