"use strict";
// Stands in for fastify's schema compilers (@fastify/ajv-compiler, @fastify/fast-json-stringify-compiler)
// in the bundle (scripts/bundle.sh, esbuild --alias), so that ajv, fast-json-stringify and
// fast-uri stay out of it. nodetap's routes take no JSON schemas and agent/server/app.ts gives
// fastify its own compilersFactory, so fastify never asks for these.
module.exports = function noSchemaCompilers() {
  throw new Error("fastify's schema compilers are not in nodetap's bundle (scripts/bundle-shims/no-schema-compiler.cjs)");
};
