import fs from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answer, makeSelfSignedCert, pod, waitFor, type TlsFiles } from "./fake-api-server.js";
import { PODS, startHarness, type Harness } from "./harness.js";

let tls: TlsFiles;
let h: Harness | undefined;

beforeAll(() => {
  tls = makeSelfSignedCert();
});
afterAll(() => fs.rmSync(tls.dir, { recursive: true, force: true }));
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const podA = pod({ uid: "uid-a", name: "a", rv: "10" });
const podB = pod({ uid: "uid-b", name: "b", rv: "11" });

describe("watch stream framing", () => {
  it("joins an event split across chunks, inside a UTF-8 character", async () => {
    h = await startHarness(tls);
    await waitFor("the pods watch", () => h!.fake.watches.some((w) => w.request.path === PODS));
    const line = Buffer.from(
      JSON.stringify({ type: "ADDED", object: pod({ uid: "uid-s", name: "s", rv: "30", labels: { greeting: "héllo" } }) }) + "\n",
    );
    const cut = line.indexOf(Buffer.from("é")) + 1; // between the two bytes of é
    const w = h.fake.lastWatch(PODS);
    w.raw(line.subarray(0, cut));
    await new Promise((r) => setTimeout(r, 30));
    expect(h.km.pod("uid-s")).toBeUndefined();
    w.raw(line.subarray(cut));
    await waitFor("the joined event", () => h!.km.pod("uid-s") !== undefined);
    expect(h.km.pod("uid-s")?.labels).toEqual({ greeting: "héllo" });
  });

  it("reports an over-size line as an error and re-lists", async () => {
    h = await startHarness(tls, { tuning: { maxEventLineBytes: 4096 } });
    h.fake.push(PODS, answer.list([podA], "100"));
    await waitFor("the pods watch", () => h!.fake.watches.some((w) => w.request.path === PODS));
    h.fake.push(PODS, answer.list([podA, podB], "200"));
    const w = h.fake.lastWatch(PODS);
    w.event("ADDED", pod({ uid: "uid-big", name: "big", rv: "150", annotations: { blob: "x".repeat(5000) } }));
    await waitFor("the re-list", () => h!.fake.requestsTo(PODS, false).length === 2);
    await waitFor("the watch after it", () => h!.fake.requestsTo(PODS, true).length === 2);
    expect(h.fake.requestsTo(PODS, true)[1].query.get("resourceVersion")).toBe("200");
    expect(h.km.pod("uid-b")?.name).toBe("b");
    expect(h.km.status().resources.pods.lastError).toBe("a watch event line exceeded 4096 bytes and was skipped");
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "oversize" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_relists_total", { resource: "pods", reason: "error" })).toBe(1);
    expect(h.logs.some((l) => l.level === 40 && /exceeded 4096 bytes.*listing again/.test(l.msg))).toBe(true);
  });

  it("re-lists after a line that is not a watch event", async () => {
    h = await startHarness(tls);
    await waitFor("the pods watch", () => h!.fake.watches.some((w) => w.request.path === PODS));
    h.fake.lastWatch(PODS).raw('{"type":"ADDED","object":{"metadata":\n');
    await waitFor("the re-list", () => h!.fake.requestsTo(PODS, false).length === 2);
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "decode" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_relists_total", { resource: "pods", reason: "error" })).toBe(1);
  });
});
