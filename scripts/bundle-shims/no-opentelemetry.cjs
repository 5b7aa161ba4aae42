"use strict";
// Stands in for @opentelemetry/api in the bundle (scripts/bundle.sh, esbuild --alias). prom-client's
// process_cpu_* metrics load it at start for exemplars (trace and span ids), which nodetap never
// enables; loading it cost every node its 51 modules. Any use fails loudly.
module.exports = new Proxy(
  {},
  {
    get(_, key) {
      if (typeof key === "symbol" || key === "__esModule" || key === "then") return undefined;
      throw new Error(`@opentelemetry/api.${key}: not in nodetap's bundle (exemplars are off; scripts/bundle-shims/no-opentelemetry.cjs)`);
    },
  },
);
