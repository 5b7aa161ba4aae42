// A Node.js built-in module that loads on first use. scripts/bundle.sh points the bundled packages'
// require("https"), require("http2") and require("tls") here (esbuild --alias): fastify and
// prom-client load them at start for features nodetap leaves off (an HTTPS or HTTP/2 server
// without web.tls, Pushgateway), and loading them costs every node about 13 MiB of RSS (OpenSSL's
// state, the HTTP/2 and TLS internals). process.getBuiltinModule is not subject to the alias.
"use strict";

module.exports = function lazyBuiltin(id) {
  let real;
  const load = () => (real ??= process.getBuiltinModule(id));
  return new Proxy(
    {},
    {
      get: (_, key) => load()[key],
      has: (_, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), key);
        return d && { ...d, configurable: true };
      },
    },
  );
};
