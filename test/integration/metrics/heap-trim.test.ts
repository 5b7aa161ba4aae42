/**
 * Heap trimming in the real agent process: the first memory-reducing collection runs once start-up
 * settled (here after the 1 s interval), and shows in the agent's metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition } from "../../helpers/exposition-parse.js";
import { startAgent, type AgentProcess } from "../../helpers/agent-process.js";
import { getText } from "../../helpers/http.js";

let agent: AgentProcess;

beforeAll(async () => {
  agent = await startAgent({ runtime: "tsx", args: ["--runtime.heap-trim-interval=1"] });
}, 90_000);

afterAll(async () => {
  await agent?.stop();
});

describe("heap trimming", () => {
  it("runs a memory-reducing collection once start-up settled, and counts it", async () => {
    const deadline = Date.now() + 20_000;
    let families = parseExposition(await getText(`${agent.url}/metrics`));
    while (families.get("nodetap_heap_trims_total")?.samples.get('nodetap_heap_trims_total{reason="start"}') !== 1) {
      if (Date.now() > deadline) throw new Error("no trim within 20 s");
      await new Promise((resolve) => setTimeout(resolve, 250));
      families = parseExposition(await getText(`${agent.url}/metrics`));
    }
    const pause = families.get("nodetap_heap_trim_pause_seconds_total")?.samples.get("nodetap_heap_trim_pause_seconds_total{}");
    expect(pause).toBeGreaterThan(0);
    expect(pause).toBeLessThan(2);
    expect(families.get("nodetap_heap_trim_released_bytes_total")).toBeDefined();
  }, 60_000);
});
