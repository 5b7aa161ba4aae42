/**
 * /metrics answers are written into buffers that later scrapes reuse once an answer has been
 * handed to the kernel. Clients that read slowly, while other scrapes with other answers run,
 * must each get their own answer intact: a buffer reused too early shows up as garbled lines.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type AgentProcess } from "../../helpers/agent-process.js";
import { getText } from "../../helpers/http.js";

const SERIES = 12_000;
let agent: AgentProcess;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-slow-readers-"));
  // About 700 KB of answer: under the 1 MiB past which a writer is not kept for reuse. On loopback
  // the kernel's socket buffers take it all at once, so this checks the reuse under concurrency;
  // a client on a slow link (bytes still queued in Node when the next scrape renders) is the case
  // the 'finish' guard in metrics-route.ts is for.
  const lines = ["# HELP big_series A large textfile family.", "# TYPE big_series gauge"];
  for (let i = 0; i < SERIES; i++) lines.push(`big_series{index="${i}",label="value-${"x".repeat(i % 17)}"} ${i}`);
  fs.writeFileSync(path.join(dir, "big.prom"), lines.join("\n") + "\n");
  agent = await startAgent({
    runtime: "tsx",
    // cpu and loadavg come before textfile in an answer: the fast scrapes' answers put the big
    // family at other offsets than the slow ones' (which ask for textfile alone).
    args: [
      "--collector.disable-defaults",
      "--collector.cpu",
      "--collector.loadavg",
      "--collector.textfile",
      `--collector.textfile.directory=${dir}`,
    ],
  });
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A GET whose answer is read only after `pauseMs` (the response waits in the socket meanwhile). */
function slowGet(port: number, pauseMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write("GET /metrics?collect[]=textfile HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      socket.pause();
      setTimeout(() => socket.resume(), pauseMs);
    });
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.on("error", reject);
  });
}

function bigSeries(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("big_series"));
}

describe("slow readers and reused answer buffers", () => {
  it("every client gets its own answer intact while other scrapes run", async () => {
    const expected = bigSeries(await getText(`${agent.url}/metrics?collect[]=textfile`));
    expect(expected).toHaveLength(SERIES);
    const slow = Array.from({ length: 4 }, (_, i) => slowGet(agent.port, 300 + 100 * i));
    const fast = Array.from({ length: 6 }, () => getText(`${agent.url}/metrics`));
    const answers = await Promise.all([...slow, ...fast]);
    for (const answer of answers) expect(bigSeries(answer)).toEqual(expected);
    expect(answers[0]).not.toContain("node_load1");
    expect(answers.at(-1)).toContain("node_load1");
  }, 60_000);
});
