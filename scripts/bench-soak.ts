/**
 * Soak benchmark (issue 10): does the agent's memory stay flat under hours-like churn? nodetap
 * (the bundle `npm start` runs, default collectors, logs to an HTTP receiver) and syslog-ng (a C
 * log shipper, wildcard-file() over the same tree, to a TCP receiver) side by side in one run:
 *
 *   npm run bench:soak                         # 30 minutes at 10,000 lines/s (RSS settles for ~12)
 *   npm run bench:soak -- --duration=120 --rate=5000 --warmup=30
 *
 * The load, like a busy node's /var/log/pods: `--streams` container logs (pod-N/0.log) written at
 * `--rate` lines/s in all; every 20 s a new pod appears and the oldest is deleted 5 s after its
 * last write; every 15 s each log over 1 MiB rotates the kubelet's way (0.log -> 0.log.<time>, a
 * new 0.log; one rotated file kept). nodetap is scraped (GET /metrics) every second.
 *
 * Every 5 s: VmRSS of both and nodetap's V8 heap in use (nodejs_heap_size_used_bytes). After
 * `--warmup` seconds: the least-squares slope of each (MiB per hour), the median (steady) and the
 * peak (VmHWM). A flat agent has a slope near 0; the report also gives lines delivered by each.
 * Writes the table to .bench/soak.md.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startHttpCounter, startNodetapWithSink, startSyslogNg, startTcpCounter, type Counter } from "./bench-logs-peers.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const v = hit === undefined ? fallback : Number(hit.slice(name.length + 3));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const DURATION_S = arg("duration", 1800);
const RATE = arg("rate", 10_000);
const STREAMS = arg("streams", 16);
const WARMUP_S = arg("warmup", Math.min(180, DURATION_S / 5));
const SAMPLE_MS = 5000;
const MiB = 2 ** 20;

const status = (pid: number, field: string): number =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) * 1024;

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

/** The pods' logs: writers, churn and rotation. */
class PodLogs {
  private next = 0;
  private readonly live: Array<{ dir: string; fd: number; file: string; lastWriteAt: number }> = [];
  private seq = 0;
  written = 0;

  constructor(private readonly root: string) {
    for (let i = 0; i < STREAMS; i++) this.addPod();
  }

  addPod(): void {
    const dir = path.join(this.root, `ns_pod-${this.next++}_uid`, "app");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "0.log");
    this.live.push({ dir, file, fd: fs.openSync(file, "a"), lastWriteAt: Date.now() });
  }

  /** Stops writing to the oldest pod and removes it 5 s later (the kubelet's deletion). */
  retireOldest(): void {
    const old = this.live.shift();
    if (old === undefined) return;
    fs.closeSync(old.fd);
    setTimeout(() => fs.rmSync(path.dirname(old.dir), { recursive: true, force: true }), 5000).unref();
  }

  rotate(): void {
    for (const p of this.live) {
      if (fs.fstatSync(p.fd).size < MiB) continue;
      fs.closeSync(p.fd);
      const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
      for (const old of fs.readdirSync(p.dir).filter((n) => n.startsWith("0.log."))) fs.rmSync(path.join(p.dir, old), { force: true });
      fs.renameSync(p.file, `${p.file}.${stamp}`);
      p.fd = fs.openSync(p.file, "a");
    }
  }

  write(lines: number): void {
    const per = Math.max(1, Math.floor(lines / this.live.length));
    const now = new Date().toISOString();
    for (const p of this.live) {
      let chunk = "";
      for (let i = 0; i < per; i++) chunk += `${now} stdout F soak line ${this.seq++} ${"x".repeat(60)}\n`;
      fs.writeSync(p.fd, chunk);
      this.written += per;
    }
  }

  close(): void {
    for (const p of this.live) fs.closeSync(p.fd);
  }
}

interface Sample {
  t: number;
  ntRss: number;
  ntHeap: number;
  peerRss: number;
}

/** Least-squares slope of y over t (seconds), in units per hour. */
function slopePerHour(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return (num / den) * 3600;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const build = spawnSync("npm", ["run", "--silent", "prestart"], { cwd: REPO, stdio: "inherit" });
  if (build.status !== 0) throw new Error("npm run prestart (the agent bundle) failed");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-soak-"));
  const root = path.join(work, "pods");
  fs.mkdirSync(root);
  const pods = new PodLogs(root);
  const ntCount: Counter = { lines: 0, firstAt: 0 };
  const peerCount: Counter = { lines: 0, firstAt: 0 };
  const httpSink = await startHttpCounter(ntCount);
  const tcpSink = await startTcpCounter(peerCount);
  const ntWork = path.join(work, "nodetap");
  const peerWork = path.join(work, "syslog-ng");
  fs.mkdirSync(ntWork);
  fs.mkdirSync(peerWork);
  const nodetap = await startNodetapWithSink(ntWork, [`${root}/*/*/*.log`], { type: "http", http: { url: httpSink.url } }, REPO, {
    metrics: true,
  });
  const peer = await startSyslogNg(peerWork, [], tcpSink.port, { wildcardDir: root });
  const began = Date.now();
  const samples: Sample[] = [];
  const timers = [
    setInterval(() => pods.write(RATE / 20), 50),
    setInterval(() => pods.rotate(), 15_000),
    setInterval(() => {
      pods.addPod();
      pods.retireOldest();
    }, 20_000),
    setInterval(() => void get(`${nodetap.address}/metrics`).catch(() => undefined), 1000),
    setInterval(() => {
      void get(`${nodetap.address}/metrics`)
        .then((text) => {
          const heap = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? NaN);
          samples.push({
            t: (Date.now() - began) / 1000,
            ntRss: status(nodetap.pid, "VmRSS"),
            ntHeap: heap,
            peerRss: status(peer.pid, "VmRSS"),
          });
          const last = samples[samples.length - 1];
          process.stderr.write(
            `[soak] ${last.t.toFixed(0)} s: nodetap RSS ${(last.ntRss / MiB).toFixed(1)} MiB heap ${(last.ntHeap / MiB).toFixed(1)} MiB; ` +
              `syslog-ng RSS ${(last.peerRss / MiB).toFixed(1)} MiB; delivered ${ntCount.lines} / ${peerCount.lines} of ${pods.written}\n`,
          );
        })
        .catch(() => undefined);
    }, SAMPLE_MS),
  ];
  await new Promise((r) => setTimeout(r, DURATION_S * 1000));
  for (const t of timers) clearInterval(t);
  pods.close();
  await new Promise((r) => setTimeout(r, 5000));
  const ntPeak = status(nodetap.pid, "VmHWM");
  const peerPeak = status(peer.pid, "VmHWM");
  await nodetap.stop();
  await peer.stop();
  await httpSink.close();
  await tcpSink.close();
  fs.rmSync(work, { recursive: true, force: true });

  const steady = samples.filter((s) => s.t >= WARMUP_S);
  const mib = (x: number) => (x / MiB).toFixed(1);
  const slope = (pick: (s: Sample) => number) => slopePerHour(steady.map((s) => [s.t, pick(s) / MiB]));
  const rows: Array<[string, string, string]> = [
    ["peak RSS, VmHWM (MiB)", mib(ntPeak), mib(peerPeak)],
    ["steady RSS, median after warm-up (MiB)", mib(median(steady.map((s) => s.ntRss))), mib(median(steady.map((s) => s.peerRss)))],
    ["RSS slope after warm-up (MiB/hour)", slope((s) => s.ntRss).toFixed(2), slope((s) => s.peerRss).toFixed(2)],
    ["V8 heap in use, median (MiB)", mib(median(steady.map((s) => s.ntHeap))), "n/a"],
    ["V8 heap slope after warm-up (MiB/hour)", slope((s) => s.ntHeap).toFixed(2), "n/a"],
    ["lines delivered / written", `${ntCount.lines} / ${pods.written}`, `${peerCount.lines} / ${pods.written}`],
  ];
  const table = [
    `Soak: ${DURATION_S} s at ${RATE} lines/s over ${STREAMS} pod logs (new pod every 20 s, oldest deleted, kubelet rotation at 1 MiB), ` +
      `scrape every 1 s; warm-up ${WARMUP_S} s; ${steady.length} samples after it. Node ${process.version}, ${os.cpus().length} CPUs.`,
    "",
    "| | nodetap | syslog-ng |",
    "|---|---|---|",
    ...rows.map(([k, a, b]) => `| ${k} | ${a} | ${b} |`),
    "",
  ].join("\n");
  fs.mkdirSync(path.join(REPO, ".bench"), { recursive: true });
  fs.writeFileSync(path.join(REPO, ".bench/soak.md"), table);
  process.stdout.write(table);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
