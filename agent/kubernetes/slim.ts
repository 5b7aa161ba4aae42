import type { Container, KubeObject } from "./kube-types.js";
import type { NamespaceMetadata, NodeMetadata, PodMetadata } from "./metadata.js";
import type { KeySelector } from "./selector.js";
import { controllerOf, workloadOf } from "./workload.js";

/**
 * The slim copies kept of API objects (metadata.ts): built field by field from the JSON, so
 * nothing else of an object (its spec, status, managedFields) stays referenced. Returns undefined
 * for an object without the identity it is stored by (uid, name).
 */

/** The string-valued entries of a JSON map (labels, annotations); anything else is skipped. */
export function stringMap(map: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (map === null || typeof map !== "object" || Array.isArray(map)) return out;
  for (const [key, value] of Object.entries(map as Record<string, unknown>)) if (typeof value === "string") out[key] = value;
  return out;
}

function addImages(out: Record<string, string>, containers: readonly Container[] | undefined): void {
  if (!Array.isArray(containers)) return;
  for (const c of containers as readonly Container[]) {
    if (c !== null && typeof c === "object" && typeof c.name === "string" && typeof c.image === "string") out[c.name] = c.image;
  }
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A pod's slim copy: `annotations` selects the annotations kept (settings.ts adds nodetap's own). */
export function slimPod(obj: KubeObject, annotations: KeySelector): PodMetadata | undefined {
  const meta = obj?.metadata;
  const uid = nonEmpty(meta?.uid);
  const name = nonEmpty(meta?.name);
  if (meta === undefined || uid === undefined || name === undefined) return undefined;
  const labels = stringMap(meta.labels);
  const controller = controllerOf(meta.ownerReferences);
  const images: Record<string, string> = {};
  addImages(images, obj.spec?.initContainers);
  addImages(images, obj.spec?.containers);
  addImages(images, obj.spec?.ephemeralContainers);
  return {
    // A static pod's logs are under the uid the kubelet gave it (the hash of its manifest); the
    // API server has its mirror pod, with another uid and that hash in this annotation.
    uid: mirrorOf(meta.annotations) ?? uid,
    namespace: nonEmpty(meta.namespace) ?? "",
    name,
    labels,
    annotations: annotations.pick(meta.annotations),
    owner: controller === undefined ? undefined : { kind: controller.kind, name: controller.name },
    workload: workloadOf(controller, labels),
    images,
    nodeName: nonEmpty(obj.spec?.nodeName) ?? "",
    deletedAt: undefined,
  };
}

const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

function mirrorOf(annotations: unknown): string | undefined {
  if (typeof annotations !== "object" || annotations === null) return undefined;
  return nonEmpty((annotations as Record<string, unknown>)[MIRROR_ANNOTATION]);
}

export function slimNamespace(obj: KubeObject): NamespaceMetadata | undefined {
  const name = nonEmpty(obj?.metadata?.name);
  if (name === undefined) return undefined;
  return { name, labels: stringMap(obj.metadata?.labels) };
}

/** The node's slim copy: `nodeLabels` selects the labels kept. */
export function slimNode(obj: KubeObject, nodeLabels: KeySelector): NodeMetadata | undefined {
  const name = nonEmpty(obj?.metadata?.name);
  if (name === undefined) return undefined;
  return { name, labels: nodeLabels.pick(obj.metadata?.labels) };
}

/**
 * Rough heap bytes of a slim object, from its string lengths: a string costs a header plus its
 * length (one byte a character, as V8 stores Latin-1 strings), an object a header plus a slot per
 * property. Good to a factor of two, enough to see the store grow.
 */
export function estimateBytes(value: unknown): number {
  if (typeof value === "string") return 16 + value.length;
  if (value === null || typeof value !== "object") return 8;
  let bytes = 32;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) bytes += 8 + estimateBytes(key) + estimateBytes(v);
  return bytes;
}

/** Deep equality of slim objects (plain objects of strings, numbers, undefined and nested plain objects). */
export function sameSlim(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!sameSlim((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
