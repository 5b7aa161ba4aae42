// `npm start` is the README's first command: one agent process that gets the signal, no banner
// or log line on stdout (stdout is the stdout sink's), a clean stop on SIGTERM.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../helpers/test-programs.js";

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm start", () => {
  it("runs the agent as npm's only child, keeps stdout clean, and stops on SIGTERM to npm", async () => {
    const npm = spawn(
      "npm",
      ["start", "--silent", "--", "--web.listen-address=127.0.0.1:0", "--collector.disable-defaults", "--logs.enabled=false"],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "" } },
    );
    let stdout = "";
    let stderr = "";
    npm.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    npm.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on("close", (code) => resolve(code)));
    try {
      const until = Date.now() + 60_000;
      while (!stderr.includes('"nodetap started"')) {
        if (Date.now() > until) throw new Error(`not started: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const kids = childrenOf(npm.pid!);
      expect(kids, kids.map(cmdline).join("\n")).toHaveLength(1);
      const agent = kids[0];
      // The compiled bundle (package.json prestart), not the sources through a loader; V8's young
      // generation capped as in the image (docs/benchmarks.md, "Memory").
      expect(cmdline(agent)).toMatch(/^\S*node --max-semi-space-size=8 dist\/start\/nodetap\.cjs /);
      expect(stdout).toBe("");

      npm.kill("SIGTERM");
      expect(await exited).toBe(0);
      const gone = Date.now() + 10_000;
      while (alive(agent) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
      expect(alive(agent)).toBe(false);
      expect(stderr).toContain('"nodetap stopped"');
      expect(stdout).toBe("");
    } finally {
      if (npm.exitCode === null) npm.kill("SIGKILL");
    }
  });
});
