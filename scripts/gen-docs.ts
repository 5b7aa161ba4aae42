/**
 * Regenerates the generated sections of docs/: the configuration reference (docs/configuration.md,
 * from the config schema) and the metric families (docs/metrics.md, from what the real agent
 * serves). `npm run docs` writes them; test/unit/docs.test.ts and test/integration/docs/ fail when
 * a file is out of date or a family the agent serves is missing.
 *
 * Where the metric families come from:
 * 1. the real process (`node --import tsx agent/main.ts`) scraped over HTTP, twice: on
 *    node_exporter's recorded host tree with its end-to-end flags (as
 *    test/integration/metrics/server.test.ts), plus one malformed /proc/vmstat line so the
 *    malformed-lines counter shows; and on this host with the collectors the tree cannot feed
 *    (filesystem, uname, timex) and the log pipeline on. `collect[]=NAME` scrapes say which
 *    collector serves which family;
 * 2. each collector run in-process on the same tree once per boolean option toggled, for the
 *    families an option adds or removes (the "condition" column);
 * 3. the prom-client registry as the agent builds it (runtime metrics and the log pipeline's),
 *    for labelled families that have no sample until something happens (a rotation, a retry).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { markdownReference } from "../agent/config/docs.js";
import { loadConfig } from "../agent/config/load.js";
import { configSchema } from "../agent/config-schema.js";
import { kebabFlagOf, walkFields, type Field, type Section } from "../agent/config/schema.js";
import { LogMetrics } from "../agent/logs/metrics.js";
import { KubernetesMetrics } from "../agent/kubernetes/metrics.js";
import { EnrichmentMetrics } from "../agent/logs/transforms/kubernetes-enricher.js";
import { COLLECTORS } from "../agent/metrics/collectors/index.js";
import { createSelfRegistry, selfFamilies } from "../agent/self-metrics.js";
import { spawn } from "node:child_process";
import { ManagedProcess, agentCommand, childEnv, tempDir, waitForHttp, type AgentRuntime } from "../test/helpers/agent-process.js";
import { e2eProcessFlags, e2eProcfs } from "../test/helpers/e2e-overlay.js";
import { parseExposition, type ParsedFamily } from "../test/helpers/exposition-parse.js";
import { collectOnce } from "../test/helpers/fixtures.js";
import { httpRequest } from "../test/helpers/http.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const CONFIGURATION_DOC = path.join(root, "docs/configuration.md");
export const METRICS_DOC = path.join(root, "docs/metrics.md");

export function replaceSection(text: string, name: string, body: string, file = "the file"): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file} lacks the ${start} ... ${end} markers`);
  return text.slice(0, i + start.length) + "\n" + body + text.slice(j);
}

/** The text between a section's markers. */
export function sectionOf(text: string, name: string): string {
  const start = `<!-- ${name}:start -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(`<!-- ${name}:end -->`);
  if (i < 0 || j < i) throw new Error(`no ${name} section`);
  return text.slice(i + start.length, j);
}

export function renderConfigurationDoc(text: string): string {
  return replaceSection(text, "config-reference", markdownReference(), "docs/configuration.md");
}

// ---------------------------------------------------------------------------------------------
// What the real process serves

/** A running agent and its base URL. */
export interface DocsAgent {
  process: ManagedProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the real agent (`node --import tsx agent/main.ts`) on 127.0.0.1:0 and waits for its
 * "nodetap started" line (on stderr or stdout, whichever the agent logs to) and /readyz.
 */
export async function startDocsAgent(args: string[], env: Record<string, string> = {}, runtime: AgentRuntime = "tsx"): Promise<DocsAgent> {
  const { command, args: head } = agentCommand(runtime);
  const child = spawn(command, [...head, "--web.listen-address=127.0.0.1:0", ...args], {
    cwd: root,
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = new ManagedProcess("nodetap", child);
  const stop = async () => {
    await proc.stop();
  };
  try {
    const url = await proc.waitFor(
      () => /"address":"(https?:\/\/[^"]+)"[^\n]*"msg":"nodetap started"/.exec(proc.stderr + proc.stdout)?.[1],
      60_000,
      "nodetap started",
    );
    await waitForHttp(`${url}/readyz`, { timeoutMs: 60_000, process: proc });
    return { process: proc, url, stop };
  } catch (err) {
    await proc.stop("SIGKILL");
    throw err;
  }
}

/** One family as served: its name, TYPE and HELP, and which collector emitted it (none: the agent). */
export interface ServedFamily {
  name: string;
  type: string;
  help: string;
  collector?: string;
}

export interface Scrape {
  /** Every family of the full scrape, with the collector that emitted it where there is one. */
  families: Map<string, ServedFamily>;
  /** node_scrape_collector_success per collector. */
  success: Map<string, boolean>;
  /** The error each failed collector reported in /status. */
  errors: Map<string, string>;
}

async function getText(url: string): Promise<string> {
  const res = await httpRequest(url, { timeoutMs: 30_000 });
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}: ${res.text}`);
  return res.text;
}

/** Scrapes /metrics once in full and once per collector (collect[]=NAME) to attribute families. */
export async function scrapeFamilies(agent: DocsAgent): Promise<Scrape> {
  const full = parseExposition(await getText(`${agent.url}/metrics`));
  const success = new Map<string, boolean>();
  for (const key of full.get("node_scrape_collector_success")?.samples.keys() ?? []) {
    const m = /collector="([^"]+)"/.exec(key);
    if (m) success.set(m[1], full.get("node_scrape_collector_success")!.samples.get(key) === 1);
  }
  const perCollector = new Map<string, Set<string>>();
  for (const name of success.keys()) {
    perCollector.set(name, new Set(parseExposition(await getText(`${agent.url}/metrics?collect[]=${name}`)).keys()));
  }
  // What every collect[] scrape has is the agent's own (scrape status, nodetap_*, runtime).
  const sets = [...perCollector.values()];
  const common = new Set([...(sets[0] ?? [])].filter((n) => sets.every((s) => s.has(n))));
  const families = new Map<string, ServedFamily>();
  const add = (f: ParsedFamily, collector?: string) => {
    if (families.has(f.name)) return;
    families.set(f.name, { name: f.name, type: f.type ?? "untyped", help: f.help ?? "", collector });
  };
  for (const [collector, names] of perCollector) {
    for (const name of names) if (!common.has(name) && full.has(name)) add(full.get(name)!, collector);
  }
  for (const f of full.values()) add(f);
  const errors = new Map<string, string>();
  if ([...success.values()].some((ok) => !ok)) {
    const status = JSON.parse(await getText(`${agent.url}/status`)) as { collectors: Array<{ name: string; lastError?: string }> };
    for (const c of status.collectors) if (success.get(c.name) === false) errors.set(c.name, c.lastError ?? "failed");
  }
  return { families, success, errors };
}

/** The recorded procfs with one malformed /proc/vmstat line added (nodetap_collector_malformed_lines_total). */
function procfsWithMalformedLine(): string {
  const base = e2eProcfs();
  const dir = path.join(tempDir("nodetap-docs-proc-"), "proc");
  fs.mkdirSync(dir);
  for (const name of fs.readdirSync(base))
    if (name !== "vmstat") fs.symlinkSync(fs.realpathSync(path.join(base, name)), path.join(dir, name));
  fs.writeFileSync(path.join(dir, "vmstat"), fs.readFileSync(path.join(base, "vmstat"), "utf8") + "nodetap_docs_malformed_line\n");
  return dir;
}

/**
 * The agent on node_exporter's recorded tree: its paths and textfile directory (as in node_exporter's
 * end-to-end run), every collector on (the default-off ones too) but those the tree cannot feed,
 * and of the other options only those of the end-to-end run that add families (bcache's priority
 * stats, qdisc's and wifi's recorded answers, sysctl's chosen keys); the rest at their defaults.
 */
export function fixtureTreeArgs(): string[] {
  const procfs = procfsWithMalformedLine();
  const tree = e2eProcessFlags().filter(
    (f) => f.startsWith("--path.") || /^--collector\.(textfile\.directory=|bcache\.|qdisc\.|wifi\.|sysctl\.)/.test(f),
  );
  const hostOnly: readonly string[] = HOST_COLLECTORS;
  return [
    ...tree.map((f) => (f.startsWith("--path.procfs=") ? `--path.procfs=${procfs}` : f)),
    ...COLLECTORS.filter((c) => !c.defaultEnabled && !hostOnly.includes(c.name)).map((c) => `--collector.${c.name}`),
    ...HOST_COLLECTORS.map((c) => `--no-collector.${c}`),
  ];
}

/** The collectors the recorded tree cannot feed, run on this host. */
export const HOST_COLLECTORS = ["filesystem", "uname", "timex"] as const;

/**
 * The agent on this host with HOST_COLLECTORS and the log pipeline (one file source into the
 * file sink, in a temporary directory). Resolves once a record was delivered.
 */
export async function startHostAgent(): Promise<DocsAgent> {
  const dir = tempDir("nodetap-docs-logs-");
  fs.mkdirSync(path.join(dir, "in"));
  fs.writeFileSync(path.join(dir, "in/app.log"), "one line for the docs\n");
  const config = path.join(dir, "nodetap.yaml");
  fs.writeFileSync(
    config,
    [
      "logs:",
      `  checkpoint: { dir: ${JSON.stringify(path.join(dir, "state"))} }`,
      "  sources:",
      "    pods: { enabled: false }",
      "    host: { enabled: false }",
      `    files: { include: [${JSON.stringify(path.join(dir, "in/*.log"))}] }`,
      `  sink: { type: file, file: { path: ${JSON.stringify(path.join(dir, "out.ndjson"))} } }`,
      "",
    ].join("\n"),
  );
  const agent = await startDocsAgent([
    "--config",
    config,
    "--collector.disable-defaults",
    ...HOST_COLLECTORS.map((c) => `--collector.${c}`),
  ]);
  const out = path.join(dir, "out.ndjson");
  const deadline = Date.now() + 30_000;
  while (!(fs.existsSync(out) && fs.statSync(out).size > 0)) {
    if (Date.now() > deadline) {
      await agent.stop();
      throw new Error(`the docs agent delivered no record to ${out}\n${agent.process.describe()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return agent;
}

/** Both real-process scrapes: the recorded tree, then this host with the log pipeline. */
export async function scrapeRealProcess(): Promise<Scrape[]> {
  const scrapes: Scrape[] = [];
  const fixture = await startDocsAgent(["--logs.enabled=false", ...fixtureTreeArgs()]);
  try {
    scrapes.push(await scrapeFamilies(fixture));
  } finally {
    await fixture.stop();
  }
  const host = await startHostAgent();
  try {
    scrapes.push(await scrapeFamilies(host));
  } finally {
    await host.stop();
  }
  return scrapes;
}

// ---------------------------------------------------------------------------------------------
// Options and declared families

/** A family and the conditions under which it is served (empty: whenever its collector runs). */
export interface DocFamily extends ServedFamily {
  conditions: string[];
}

/** A collector option that can add or remove families: a boolean, or an include regexp that is empty by default. */
interface FamilyOption {
  collector: string;
  flag: string;
  kind: "bool" | "regex";
  default: boolean;
}

function familyOptions(): FamilyOption[] {
  const out: FamilyOption[] = [];
  walkFields(configSchema as Section, (p, field: Field<unknown>) => {
    if (p[0] !== "metrics" || p[1] !== "collectors" || p[3] === "enabled") return;
    const flag = field.flags?.[0] ?? kebabFlagOf(p);
    if (field.kind === "bool") out.push({ collector: p[2], flag, kind: "bool", default: field.default as boolean });
    else if (field.kind === "regex" && field.default === "" && /include/i.test(p[p.length - 1])) {
      out.push({ collector: p[2], flag, kind: "regex", default: false });
    }
  });
  return out;
}

/**
 * Families each option adds or removes, per collector, by running the collector in-process: a
 * boolean toggled from its default, an include regexp set to `.*`.
 */
export async function optionConditions(): Promise<{ conditions: Map<string, string[]>; extra: Map<string, DocFamily> }> {
  const base = fixtureTreeArgs();
  const conditions = new Map<string, string[]>();
  const extra = new Map<string, DocFamily>();
  const familiesOf = async (collector: string, flags: string[]) => {
    const def = COLLECTORS.find((c) => c.name === collector)!;
    const onTree = !(HOST_COLLECTORS as readonly string[]).includes(collector);
    const config = loadConfig(onTree ? [...base, ...flags] : flags, {}).config;
    const out = await collectOnce(def, config);
    return new Map([...out.families.values()].map((f) => [f.desc.name, f.desc]));
  };
  const note = (text: string, name: string) => conditions.set(name, [...(conditions.get(name) ?? []), text]);
  for (const opt of familyOptions()) {
    const before = await familiesOf(opt.collector, []);
    const after = await familiesOf(opt.collector, [opt.kind === "bool" ? `--${opt.flag}=${!opt.default}` : `--${opt.flag}=.*`]);
    const on = opt.kind === "regex" ? `\`--${opt.flag}\`` : opt.default ? `\`--no-${opt.flag}\`` : `\`--${opt.flag}\``;
    for (const [name, desc] of after) {
      if (before.has(name)) continue;
      note(`only with ${on}`, name);
      extra.set(name, { name, type: desc.type, help: desc.help, collector: opt.collector, conditions: [] });
    }
    for (const name of before.keys()) if (!after.has(name)) note(opt.default ? `off with ${on}` : `not with ${on}`, name);
  }
  return { conditions, extra };
}

/** nodetap's prom-client families as the agent registers them, samples or not. */
export async function declaredSelfFamilies(): Promise<ServedFamily[]> {
  const registry = createSelfRegistry({ runtimeMetrics: true });
  new LogMetrics(registry);
  new KubernetesMetrics(registry, { objects: () => 0, bytes: () => 0 });
  new EnrichmentMetrics(registry, () => 0);
  const families = await selfFamilies(registry);
  registry.clear();
  return families.map((f) => ({ name: f.name, type: f.type, help: f.help }));
}

// ---------------------------------------------------------------------------------------------
// The document

export type Group = "host" | "agent" | "logs" | "kubernetes" | "runtime";

export function groupOf(f: ServedFamily): Group {
  if (f.name.startsWith("nodetap_log_")) return "logs";
  if (f.name.startsWith("nodetap_kubernetes_")) return "kubernetes";
  if (f.name.startsWith("process_") || f.name.startsWith("nodejs_") || f.name === "nodetap_build_info") return "runtime";
  if (f.collector && f.name.startsWith("node_")) return "host";
  return "agent";
}

/** Families of a textfile collector run that come from the *.prom files (the fixture's test metrics), not from nodetap. */
export function isUserTextfileFamily(f: ServedFamily): boolean {
  return f.collector === "textfile" && !f.name.startsWith("node_");
}

export interface MetricsModel {
  families: DocFamily[];
  /** Collectors that failed on this host, with the reason: their rows come from the existing doc. */
  failed: Map<string, string>;
}

/** Everything docs/metrics.md lists, from the real process, the option runs and the registry. */
export async function metricsModel(scrapes?: Scrape[]): Promise<MetricsModel> {
  scrapes ??= await scrapeRealProcess();
  const { conditions, extra } = await optionConditions();
  const all = new Map<string, DocFamily>();
  const failed = new Map<string, string>();
  for (const s of scrapes) {
    for (const [name, ok] of s.success) if (!ok) failed.set(name, s.errors.get(name) ?? "failed");
    for (const f of s.families.values()) {
      if (isUserTextfileFamily(f)) continue;
      const known = all.get(f.name);
      // The agent's own families are in both scrapes; a collector's attribution wins.
      if (!known || (!known.collector && f.collector)) all.set(f.name, { ...f, conditions: [] });
    }
  }
  for (const f of extra.values()) if (!all.has(f.name)) all.set(f.name, f);
  for (const f of await declaredSelfFamilies()) if (!all.has(f.name)) all.set(f.name, { ...f, conditions: [] });
  for (const f of all.values()) f.conditions = conditions.get(f.name) ?? [];
  for (const c of failed.keys()) for (const [name, f] of all) if (f.collector === c) all.delete(name);
  return { families: [...all.values()], failed };
}

/** "only with A", "only with B" -> "only with A or B" (any of them turns the family on). */
function conditionText(conditions: string[]): string {
  const only = conditions.filter((c) => c.startsWith("only with ")).map((c) => c.slice("only with ".length));
  const rest = conditions.filter((c) => !c.startsWith("only with "));
  const or = only.length <= 1 ? only.join("") : `${only.slice(0, -1).join(", ")} or ${only[only.length - 1]}`;
  return [...(or ? [`only with ${or}`] : []), ...rest].join("; ");
}

function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\n/g, " ");
}

const GROUP_TITLES: Record<Group, [title: string, note: string]> = {
  host: ["Host metrics", "By collector; served while the collector is enabled and finds the data."],
  agent: ["Scrape and agent metrics", "Per scrape and per collector, and nodetap's own counters."],
  logs: ["Log pipeline metrics", "Served while the log pipeline runs (`logs.enabled`, the default)."],
  kubernetes: [
    "Kubernetes metadata metrics",
    "Served while pod metadata comes from the API server (`kubernetes.metadata`; see [kubernetes-metadata.md](kubernetes-metadata.md)).",
  ],
  runtime: [
    "Runtime metrics",
    "prom-client's process and Node.js metrics and the build info; left out with `--web.disable-exporter-metrics`. The `nodejs_eventloop_lag_*` gauges keep prom-client's names but are sampled by nodetap (agent/self-metrics.ts): the delay past a 100 ms timer, 0 when idle, over the window since the previous scrape. `process_open_fds` is counted from a `stat` of /proc/self/fd where the kernel gives the count as its size (Linux 6.2 and later), by listing it elsewhere.",
  ],
};

/** Rows of the host table of an existing doc, for collectors that cannot run here. */
function existingHostRows(existing: string, collector: string): string[] {
  return sectionOf(existing, "metrics-reference")
    .split("\n")
    .filter((line) => line.startsWith(`| ${collector} | `));
}

export function metricsReference(model: MetricsModel, existing = ""): string {
  const byName = (a: DocFamily, b: DocFamily) => a.name.localeCompare(b.name);
  const out: string[] = [];
  const collectors = [...new Set(model.families.filter((f) => groupOf(f) === "host").map((f) => f.collector!))];
  for (const c of model.failed.keys()) if (!collectors.includes(c)) collectors.push(c);
  collectors.sort();
  const hostCount = model.families.filter((f) => groupOf(f) === "host").length;
  out.push(`### ${GROUP_TITLES.host[0]}`, "", GROUP_TITLES.host[1], "");
  out.push("| collector | family | type | condition | help |", "|---|---|---|---|---|");
  let carried = 0;
  for (const c of collectors) {
    if (model.failed.has(c)) {
      const rows = existingHostRows(existing, c);
      carried += rows.length;
      out.push(...rows);
      continue;
    }
    for (const f of model.families.filter((x) => groupOf(x) === "host" && x.collector === c).sort(byName)) {
      out.push(`| ${c} | \`${f.name}\` | ${f.type} | ${cell(conditionText(f.conditions))} | ${cell(f.help)} |`);
    }
  }
  const totals: string[] = [`${hostCount + carried} host families`];
  for (const group of ["agent", "logs", "kubernetes", "runtime"] as const) {
    const rows = model.families.filter((f) => groupOf(f) === group).sort(byName);
    totals.push(`${rows.length} ${group}`);
    out.push("", `### ${GROUP_TITLES[group][0]}`, "", GROUP_TITLES[group][1], "");
    out.push("| family | type | help |", "|---|---|---|");
    for (const f of rows) out.push(`| \`${f.name}\` | ${f.type} | ${cell(f.help)} |`);
  }
  return `${totals.join(", ")}.\n\n` + out.join("\n") + "\n";
}

/** The family names listed in docs/metrics.md's generated section. */
export function documentedFamilies(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of sectionOf(text, "metrics-reference").split("\n")) {
    const m = /^\|(?: [a-z_]+ \|)? `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| ([a-z]+) \|/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

export async function renderMetricsDoc(text: string, model?: MetricsModel): Promise<string> {
  model ??= await metricsModel();
  return replaceSection(text, "metrics-reference", metricsReference(model, text), "docs/metrics.md");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  fs.writeFileSync(CONFIGURATION_DOC, renderConfigurationDoc(fs.readFileSync(CONFIGURATION_DOC, "utf8")));
  console.log("docs/configuration.md regenerated");
  const model = await metricsModel();
  for (const [c, why] of model.failed) {
    console.warn(`collector ${c} failed on this host (${why}): its rows were kept from the existing docs/metrics.md`);
  }
  fs.writeFileSync(METRICS_DOC, await renderMetricsDoc(fs.readFileSync(METRICS_DOC, "utf8"), model));
  console.log(`docs/metrics.md regenerated (${model.families.length} families)`);
  const { removeTempDirs } = await import("../test/helpers/agent-process.js");
  removeTempDirs();
}
