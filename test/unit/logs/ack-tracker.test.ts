import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AckTracker } from "../../../agent/logs/ack-tracker.js";

describe("AckTracker", () => {
  it("commits only through the contiguous acknowledged prefix", () => {
    const commits: number[] = [];
    const t = new AckTracker<number>((p) => commits.push(p), 0);
    const a = t.issue(100, 2);
    const b = t.issue(200, 1);
    const c = t.issue(300, 3);
    c.ack(3);
    b.ack(1);
    expect(commits).toEqual([]);
    a.ack(1);
    expect(commits).toEqual([]);
    a.ack(1);
    expect(commits).toEqual([300]);
    expect(t.committed).toBe(300);
    expect(t.pending).toBe(0);
  });

  it("a ticket without records moves the position once everything before it is acknowledged", () => {
    const commits: number[] = [];
    const t = new AckTracker<number>((p) => commits.push(p), 0);
    t.issue(10, 0);
    expect(commits).toEqual([10]);
    const x = t.issue(20, 1);
    t.issue(30, 0);
    expect(commits).toEqual([10]);
    x.ack(1);
    expect(commits).toEqual([10, 30]);
  });

  it("refuses to acknowledge more records than a ticket has", () => {
    const t = new AckTracker<number>(() => undefined);
    const x = t.issue(1, 1);
    expect(() => x.ack(2)).toThrow(/settling 2/);
  });

  it("never commits past an unacknowledged ticket, whatever the ack order (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        (sizes, picks) => {
          let committed = 0;
          const t = new AckTracker<number>((p) => {
            expect(p).toBeGreaterThanOrEqual(committed);
            committed = p;
          }, 0);
          const tickets = sizes.map((n, i) => ({ ticket: t.issue((i + 1) * 10, n), left: n, pos: (i + 1) * 10 }));
          const it = picks[Symbol.iterator]();
          let open = tickets.filter((x) => x.left > 0);
          while (open.length > 0) {
            const pick = open[it.next().value % open.length];
            pick.ticket.ack(1);
            pick.left--;
            const firstOpen = tickets.find((x) => x.left > 0);
            const lastDone = firstOpen ? tickets.indexOf(firstOpen) - 1 : tickets.length - 1;
            expect(committed).toBe(lastDone >= 0 ? tickets[lastDone].pos : 0);
            open = tickets.filter((x) => x.left > 0);
          }
          expect(committed).toBe(sizes.length * 10);
        },
      ),
    );
  });
});
