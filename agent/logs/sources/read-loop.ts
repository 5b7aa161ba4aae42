import type { InFlightBudget } from "../in-flight-budget.js";
import type { FileTailer } from "./file-tailer.js";
import type { ReadOrder } from "./read-order.js";

/**
 * The file sources' one read loop: a chunk at a time from the file ReadOrder picks, into one
 * buffer, waiting while the in-flight budget is used up.
 */
export class ReadLoop {
  private pumping?: Promise<void>;
  private readonly buf: Buffer;

  constructor(
    private readonly order: ReadOrder,
    private readonly budget: InFlightBudget,
    bufferBytes: number,
    /** Reading starts once the start-up recovery is done, and ends for good at stop. */
    private readonly phase: () => "starting" | "running" | "stopping",
    /** A deleted file was read to its end and closed. */
    private readonly onDeletedClosed: (t: FileTailer) => void,
  ) {
    this.buf = Buffer.allocUnsafe(bufferBytes);
  }

  kick(): void {
    // Nothing is read before start() has found what rotated away while nodetap was down (a
    // watch event on an active file must not start its reading ahead of its rotated files).
    if (this.pumping !== undefined || this.phase() !== "running") return;
    // pump() starts in a microtask, after `pumping` is set: a gate's room listener called from
    // inside takeNext() (gate.blocked) kicks again, and two pumps would read into one buffer.
    this.pumping = Promise.resolve()
      .then(() => this.pump())
      .finally(() => {
        this.pumping = undefined;
      });
  }

  /** Resolves when the loop has stopped (it stops once the phase is "stopping"). */
  whenStopped(): Promise<void> {
    return this.pumping ?? Promise.resolve();
  }

  private async pump(): Promise<void> {
    while (this.phase() !== "stopping") {
      if (this.budget.exhausted) {
        await this.budget.waitForRoom();
        continue;
      }
      const t = this.order.next();
      if (t === undefined) return;
      const outcome = await t.readOnce(this.buf);
      if (outcome === "more") this.order.enqueue(t);
      if (t.state !== "active") this.order.noteDrained(t);
      if (t.state === "closed" && t.unlinked) this.onDeletedClosed(t);
    }
  }
}
