/**
 * Converts Kubernetes OpenAPI definitions into kubeconform's "standalone strict" JSON-schema layout
 * (one file per kind: <kind>-<group>-<version>.json), like kubeconform's openapi2jsonschema.py:
 *   - every object schema with properties gets additionalProperties: false (unknown fields are errors,
 *     as with `kubectl apply --validate=strict`), except where x-kubernetes-preserve-unknown-fields;
 *   - int-or-string fields accept an integer or a string;
 *   - apiVersion and kind are pinned to the kind's own values.
 * "Standalone": each file carries the definitions it references (only those reachable), so
 * kubeconform needs no other file.
 *
 *   tsx openapi2jsonschema.ts swagger <swagger.json> <outDir>     built-in kinds (k8s.io/kubernetes api/openapi-spec)
 *   tsx openapi2jsonschema.ts crd <outDir> <crd.yaml>...           CustomResourceDefinitions
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** kubeconform's file name: lower-case kind, first label of the group, version. */
export function schemaFileName(kind: string, group: string, version: string): string {
  const g = group === "" ? "" : `-${group.split(".")[0]}`;
  return `${kind}${g}-${version}.json`.toLowerCase();
}

/** The strict transformation, applied to a copy. */
export function strictify(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(strictify);
  if (!isObj(schema)) return schema;
  if (schema.format === "int-or-string" || schema["x-kubernetes-int-or-string"] === true) {
    const { type: _t, format: _f, ...rest } = schema;
    return { ...strictifyChildren(rest), oneOf: [{ type: "string" }, { type: "integer" }] };
  }
  const out = strictifyChildren(schema);
  if (isObj(out.properties) && !("additionalProperties" in out) && out["x-kubernetes-preserve-unknown-fields"] !== true) {
    out.additionalProperties = false;
  }
  if (out.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  return out;
}

function strictifyChildren(schema: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) {
    // "properties" maps names to schemas; a property named "format" or "properties" is not a keyword.
    if (k === "properties" && isObj(v)) out[k] = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, strictify(s)]));
    else out[k] = strictify(v);
  }
  return out;
}

function pinKind(schema: Obj, group: string, version: string, kind: string): void {
  const props = isObj(schema.properties) ? schema.properties : undefined;
  if (!props) return;
  const apiVersion = group === "" ? version : `${group}/${version}`;
  if (isObj(props.apiVersion)) props.apiVersion = { ...props.apiVersion, enum: [apiVersion] };
  if (isObj(props.kind)) props.kind = { ...props.kind, enum: [kind] };
}

function refsOf(schema: Json, into: Set<string>): void {
  if (Array.isArray(schema)) schema.forEach((s) => refsOf(s, into));
  else if (isObj(schema)) {
    for (const [k, v] of Object.entries(schema)) {
      if (k === "$ref" && typeof v === "string" && v.startsWith("#/definitions/")) into.add(v.slice("#/definitions/".length));
      else refsOf(v, into);
    }
  }
}

/** resource.Quantity is a string in the OpenAPI spec, but the API server also takes a number (memory: 1048576). */
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const quantity = (def: Obj): Obj => {
  const { type: _t, ...rest } = def;
  return { ...rest, oneOf: [{ type: "string" }, { type: "number" }] };
};

export function convertSwagger(swagger: { definitions: Record<string, Obj> }): Map<string, Obj> {
  const defs = swagger.definitions;
  const files = new Map<string, Obj>();
  for (const [name, def] of Object.entries(defs)) {
    const gvks = def["x-kubernetes-group-version-kind"];
    if (!Array.isArray(gvks)) continue;
    for (const gvk of gvks) {
      if (!isObj(gvk)) continue;
      const { group, version, kind } = gvk as { group: string; version: string; kind: string };
      // Only the kind's own definition (e.g. DeleteOptions lists many group-versions; skip those not named after it).
      if (!name.endsWith(`.${kind}`)) continue;
      const reachable = new Set<string>();
      const queue = [name];
      while (queue.length) {
        const n = queue.pop()!;
        const found = new Set<string>();
        refsOf(defs[n], found);
        for (const r of found) {
          if (reachable.has(r) || r === name) continue;
          reachable.add(r);
          queue.push(r);
        }
      }
      const root = strictify(def) as Obj;
      pinKind(root, group, version, kind);
      // A self-reference (recursive kinds) points back at the root.
      const definitions: Obj = {};
      for (const r of [...reachable].sort()) definitions[r] = r === QUANTITY ? quantity(defs[r]) : strictify(defs[r]);
      const file: Obj = { $schema: "http://json-schema.org/draft-04/schema#", ...root, definitions };
      const text = JSON.stringify(file).replaceAll(`"#/definitions/${name}"`, '"#"');
      files.set(schemaFileName(kind, group, version), JSON.parse(text) as Obj);
    }
  }
  return files;
}

export function convertCrds(texts: string[]): Map<string, Obj> {
  const files = new Map<string, Obj>();
  for (const text of texts) {
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJSON() as Obj | null;
      if (!crd || crd.kind !== "CustomResourceDefinition" || !isObj(crd.spec)) continue;
      const spec = crd.spec as { group: string; names: { kind: string }; versions: Array<{ name: string; schema?: { openAPIV3Schema?: Obj } }> };
      for (const v of spec.versions) {
        const schema = v.schema?.openAPIV3Schema;
        if (!schema) continue;
        const root = strictify(schema) as Obj;
        pinKind(root, spec.group, v.name, spec.names.kind);
        files.set(schemaFileName(spec.names.kind, spec.group, v.name), root);
      }
    }
  }
  return files;
}

function write(files: Map<string, Obj>, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  for (const [name, schema] of files) writeFileSync(path.join(outDir, name), JSON.stringify(schema));
  process.stderr.write(`openapi2jsonschema: ${files.size} schemas -> ${outDir}\n`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "swagger" && args.length === 2) {
  write(convertSwagger(JSON.parse(readFileSync(args[0], "utf8")) as { definitions: Record<string, Obj> }), args[1]);
} else if (mode === "crd" && args.length >= 2) {
  write(
    convertCrds(args.slice(1).map((f) => readFileSync(f, "utf8"))),
    args[0],
  );
} else if (mode !== undefined) {
  process.stderr.write("usage: openapi2jsonschema.ts swagger <swagger.json> <outDir> | crd <outDir> <crd.yaml>...\n");
  process.exit(2);
}
