// Run by scripts/bundle.sh on the bundle esbuild wrote: node memoize-to-esm.cjs BUNDLE.
//
// esbuild turns every `import fs from "node:fs"` (a default or namespace import of a CommonJS
// module) into `__toESM(require("node:fs"), 1)`: a new object with one getter closure per export,
// per importing file. The agent's ~130 such imports made about 6,000 getters, contexts and
// accessor pairs that live as long as the process (1.1-1.4 MiB of RSS at idle, measured side by
// side). This rewrites esbuild's helper so that each module gets its wrapper once and every
// importing file shares it; a module whose export count changed since (a CommonJS cycle still
// filling its exports) gets a fresh one, as it would without this.
//
// The helper sits on the bundle's first line with esbuild's other runtime helpers and no mapped
// source, so the source map stays valid. The build fails if the helper is not found exactly once.
"use strict";
const fs = require("node:fs");

const file = process.argv[2];
const source = fs.readFileSync(file, "utf8");
const firstLineEnd = source.indexOf("\n");
const helper = "var __toESM=(mod,isNodeMode,target)=>";
const at = source.indexOf(helper);
if (at < 0 || at > firstLineEnd || source.indexOf(helper, at + 1) >= 0) {
  console.error(`memoize-to-esm: esbuild's __toESM helper not found once on the first line of ${file} (esbuild changed its output?)`);
  process.exit(1);
}
const memoized =
  "var __toESMCache=new WeakMap,__toESM=(mod,isNodeMode)=>{" +
  'if(mod===null||typeof mod!="object"&&typeof mod!="function")return __toESMOnce(mod,isNodeMode);' +
  'let byMode=__toESMCache.get(mod);byMode===void 0&&__toESMCache.set(mod,byMode={});let key=isNodeMode?"node":"esm",exports=Object.keys(mod).length,hit=byMode[key];' +
  "return(hit===void 0||hit.exports!==exports)&&(hit=byMode[key]={wrapper:__toESMOnce(mod,isNodeMode),exports}),hit.wrapper}," +
  "__toESMOnce=(mod,isNodeMode,target)=>";
fs.writeFileSync(file, source.slice(0, at) + memoized + source.slice(at + helper.length));
