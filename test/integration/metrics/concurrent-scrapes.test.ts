/**
 * Concurrent scrapes of the real agent on this host: two Prometheus replicas (or a replica and a
 * curl) scrape at the same moment. Every collector that succeeds in a scrape on its own must
 * succeed in concurrent ones too; the arp collector did not (one rtnetlink dump at a time).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition } from "../../helpers/exposition-parse.js";
import { startAgent, type AgentProcess } from "../../helpers/agent-process.js";
import { getText } from "../../helpers/http.js";

let agent: AgentProcess;

beforeAll(async () => {
  agent = await startAgent({ runtime: "tsx" });
}, 90_000);

afterAll(async () => {
  await agent?.stop();
});

/** Collectors whose node_scrape_collector_success is 0 in one exposition. */
function failedCollectors(text: string): string[] {
  const success = parseExposition(text).get("node_scrape_collector_success");
  if (success === undefined) throw new Error("no node_scrape_collector_success in the exposition");
  return [...success.samples].filter(([, value]) => value === 0).map(([key]) => /collector="([^"]+)"/.exec(key)?.[1] ?? key);
}

describe("concurrent scrapes", () => {
  it("fail no collector that a scrape on its own does not fail", async () => {
    const alone = new Set(failedCollectors(await getText(`${agent.url}/metrics`)));
    for (let round = 0; round < 5; round++) {
      const texts = await Promise.all(Array.from({ length: 6 }, () => getText(`${agent.url}/metrics`)));
      for (const text of texts) expect(failedCollectors(text).filter((c) => !alone.has(c))).toEqual([]);
    }
    expect(agent.logs().filter((l) => l.msg === "collector failed" && !alone.has(String(l.collector)))).toEqual([]);
  }, 120_000);
});
