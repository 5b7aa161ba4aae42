import fs from "node:fs";
import path from "node:path";
import { freePort, ServerProcess, testenvTool, waitUntil } from "./servers.js";

/**
 * A real OpenSearch node (Maven Central modules + transport-netty4, assembled by
 * scripts/testenv-sinks-opensearch.sh) on 127.0.0.1, single-node discovery, in a temp dir.
 * `settings` are extra node settings, e.g. a one-thread write pool with a queue of 1 to get
 * real 429s (es_rejected_execution_exception).
 */
export class OpenSearch {
  readonly server: ServerProcess;

  private constructor(
    readonly port: number,
    args: string[],
  ) {
    this.server = new ServerProcess("opensearch", testenvTool("opensearch-node"), args);
  }

  static async start(dir: string, settings: Record<string, string> = {}): Promise<OpenSearch> {
    fs.mkdirSync(path.join(dir, "config"), { recursive: true });
    const port = await freePort();
    const transport = await freePort();
    const all: Record<string, string> = {
      "path.home": dir,
      "path.data": path.join(dir, "data"),
      "path.logs": path.join(dir, "logs"),
      "cluster.name": "nodetap-test",
      "node.name": "n1",
      "network.host": "127.0.0.1",
      "http.port": String(port),
      "transport.port": String(transport),
      "discovery.type": "single-node",
      // Tests fill a small disk fast: no read-only block at the default watermarks.
      "cluster.routing.allocation.disk.threshold_enabled": "false",
      "action.auto_create_index": "true",
      ...settings,
    };
    const os = new OpenSearch(
      port,
      Object.entries(all).map(([k, v]) => `${k}=${v}`),
    );
    await os.restart();
    return os;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.server.start();
    await waitUntil(
      `opensearch on port ${this.port}`,
      async () => {
        if (!this.server.running) throw new Error(`opensearch exited: ${this.server.tail(3000)}`);
        const res = await fetch(`${this.url}/_cluster/health?wait_for_status=yellow&timeout=1s`);
        return res.ok;
      },
      120_000,
      500,
    );
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    return this.server.stop(signal, 30_000);
  }

  async request<T = unknown>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${p}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** All documents of `index` (refreshed first), paged with the scroll API past the 10000-hit result window. */
  async documents(index: string): Promise<Array<{ _id: string; _index: string; _source: Record<string, unknown> }>> {
    type Page = { _scroll_id: string; hits: { hits: Array<{ _id: string; _index: string; _source: Record<string, unknown> }> } };
    await this.request("POST", `/${index}/_refresh`);
    let page = await this.request<Page>("POST", `/${index}/_search?scroll=1m`, { size: 5000, sort: ["_doc"], query: { match_all: {} } });
    const all = [...page.hits.hits];
    while (page.hits.hits.length > 0) {
      page = await this.request<Page>("POST", "/_search/scroll", { scroll: "1m", scroll_id: page._scroll_id });
      all.push(...page.hits.hits);
    }
    await this.request("DELETE", "/_search/scroll", { scroll_id: page._scroll_id }).catch(() => undefined);
    return all;
  }

  async count(index: string): Promise<number> {
    await this.request("POST", `/${index}/_refresh`);
    return (await this.request<{ count: number }>("GET", `/${index}/_count`)).count;
  }
}
