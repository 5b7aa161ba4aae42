import { afterEach, describe, expect, it, vi } from "vitest";
import { CoalescingRunner } from "../../../agent/logs/sources/coalescing-runner.js";

/** A task that records its runs and finishes when told to. */
function gatedTask() {
  const runs: number[] = [];
  const gates: Array<() => void> = [];
  const task = () =>
    new Promise<void>((resolve) => {
      runs.push(runs.length + 1);
      gates.push(resolve);
    });
  const finishNext = async () => {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { runs, task, finishNext };
}

describe("CoalescingRunner (the tail manager's scans)", () => {
  afterEach(() => vi.useRealTimers());

  it("runs one at a time, and asks made while a run is in progress give exactly one more run", async () => {
    const { runs, task, finishNext } = gatedTask();
    const runner = new CoalescingRunner(task, 100);
    const first = runner.run();
    const second = runner.run();
    void runner.run();
    expect(second).toBe(first);
    expect(runs).toEqual([1]);
    let settled = false;
    void first.then(() => (settled = true));
    await finishNext();
    expect(runs).toEqual([1, 2]);
    expect(settled).toBe(false); // the promise covers the rerun asked for
    await finishNext();
    await first;
    expect(runs).toEqual([1, 2]);
  });

  it("soon() runs once for a burst of asks, and spaces bursts by the minimum gap", async () => {
    vi.useFakeTimers();
    let runs = 0;
    const runner = new CoalescingRunner(async () => {
      runs++;
    }, 100);
    for (let i = 0; i < 10; i++) runner.soon();
    await vi.advanceTimersByTimeAsync(25);
    expect(runs).toBe(1);
    runner.soon();
    await vi.advanceTimersByTimeAsync(50);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(runs).toBe(2);
  });

  it("stop() cancels a pending soon(), ends the rerun loop, and resolves when the run in progress is done", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { runs, task, finishNext } = gatedTask();
    const runner = new CoalescingRunner(task, 100);
    void runner.run();
    void runner.run(); // a rerun asked for
    runner.soon();
    let stopped = false;
    const done = runner.stop().then(() => (stopped = true));
    expect(stopped).toBe(false);
    await finishNext();
    await done;
    expect(stopped).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toEqual([1]);
  });
});
