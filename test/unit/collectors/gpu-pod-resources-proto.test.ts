// The kubelet pod-resources reply decoder (agent/metrics/collectors/gpu/pod-resources-proto.ts):
// bytes from a hand-built encoder here, bytes recorded from the real v1.PodResourcesLister server
// (test/peers/podresources-server, k8s.io/kubelet v0.37.2, serving
// test/fixtures/gpu/pod-resources-list.json; test/integration/metrics/gpu-pod-resources.test.ts
// checks the live server still answers what the recording decodes to), and bad input.
import fc from "fast-check";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  MAX_GROUP_DEPTH,
  MAX_MESSAGE_BYTES,
  PodResourcesDecodeError,
  decodeListPodResourcesResponse,
  type PodResources,
} from "../../../agent/metrics/collectors/gpu/pod-resources-proto.js";
import { gpuOwners } from "../../../agent/metrics/collectors/gpu/pod-resources.js";
import { REPO_ROOT } from "../../helpers/test-programs.js";

// --- a minimal protobuf encoder (proto3 wire format) --------------------------------------------

const varint = (n: number | bigint): number[] => {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
};
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire);
const bytesField = (field: number, body: number[] | Uint8Array): number[] => [...tag(field, 2), ...varint(body.length), ...body];
const str = (field: number, s: string): number[] => bytesField(field, new TextEncoder().encode(s));
const msg = (field: number, ...parts: number[][]): number[] => bytesField(field, parts.flat());
const u64 = (field: number, n: number): number[] => [...tag(field, 0), ...varint(n)];
const fixed64 = (field: number): number[] => [...tag(field, 1), 1, 2, 3, 4, 5, 6, 7, 8];
const fixed32 = (field: number): number[] => [...tag(field, 5), 9, 9, 9, 9];
const group = (field: number, ...parts: number[][]): number[] => [...tag(field, 3), ...parts.flat(), ...tag(field, 4)];
const packed = (field: number, values: number[]): number[] =>
  bytesField(
    field,
    values.flatMap((v) => varint(v)),
  );
const decode = (bytes: number[] | Uint8Array) => decodeListPodResourcesResponse(Uint8Array.from(bytes));

/** ContainerDevices: resource_name = 1, device_ids = 2, topology = 3. */
const devices = (resource: string, ids: string[], topology = false): number[] =>
  msg(2, str(1, resource), ...ids.map((id) => str(2, id)), topology ? msg(3, msg(1, u64(1, 1))) : []);

const FIXTURE_HEX = path.join(REPO_ROOT, "test/fixtures/gpu/pod-resources-list.hex");
const fixtureBytes = (): Buffer => Buffer.from(fs.readFileSync(FIXTURE_HEX, "utf8").replace(/\s+/g, ""), "hex");

/** What test/fixtures/gpu/pod-resources-list.json's "list" holds, as the decoder reports it. */
const FIXTURE_PODS: PodResources[] = [
  {
    name: "trainer-0",
    namespace: "ml",
    containers: [
      {
        name: "trainer",
        devices: [
          {
            resourceName: "nvidia.com/gpu",
            deviceIds: ["GPU-6f0b2c1e-8a3d-4b7e-9c51-2d4f8e6a1b03", "GPU-a81c4d9f-1e27-4c60-b3f5-7e9d0c2b4a16"],
          },
          { resourceName: "rdma/hca_shared_devices_a", deviceIds: ["hca-0"] },
        ],
      },
      { name: "log-shipper", devices: [] },
    ],
  },
  {
    name: "inference-7c9f",
    namespace: "serving",
    containers: [
      { name: "server", devices: [{ resourceName: "nvidia.com/mig-3g.71gb", deviceIds: ["MIG-5e2d7a90-3c41-5f88-a0b6-19c7e4d2f851"] }] },
    ],
  },
];

/** Runs decode; anything thrown must be a PodResourcesDecodeError with a message. */
function decodeGuarded(bytes: Uint8Array): void {
  try {
    decodeListPodResourcesResponse(bytes);
  } catch (err) {
    if (!(err instanceof PodResourcesDecodeError) || !/^pod-resources: /.test(err.message))
      throw new Error(`decoder threw ${String(err)} for ${Buffer.from(bytes).toString("hex").slice(0, 200)}`, { cause: err });
  }
}

describe("decodeListPodResourcesResponse", () => {
  it("decodes the hand-encoded reply: pods, containers, devices, empty and repeated fields", () => {
    const bytes = [
      ...msg(
        1,
        str(1, "trainer-0"),
        str(2, "ml"),
        msg(3, str(1, "trainer"), devices("nvidia.com/gpu", ["GPU-a", "GPU-b"], true), devices("example.com/fpga", ["f0"])),
        msg(3, str(1, "sidecar")),
      ),
      ...msg(1, str(1, "üñí-pod"), str(2, "ns"), msg(3, str(1, "c"), devices("nvidia.com/mig-1g.10gb", ["MIG-x"]))),
      ...msg(1), // an empty PodResources
    ];
    expect(decode(bytes)).toEqual([
      {
        name: "trainer-0",
        namespace: "ml",
        containers: [
          {
            name: "trainer",
            devices: [
              { resourceName: "nvidia.com/gpu", deviceIds: ["GPU-a", "GPU-b"] },
              { resourceName: "example.com/fpga", deviceIds: ["f0"] },
            ],
          },
          { name: "sidecar", devices: [] },
        ],
      },
      {
        name: "üñí-pod",
        namespace: "ns",
        containers: [{ name: "c", devices: [{ resourceName: "nvidia.com/mig-1g.10gb", deviceIds: ["MIG-x"] }] }],
      },
      { name: "", namespace: "", containers: [] },
    ]);
    expect(decode([])).toEqual([]);
  });

  it("skips unknown fields of every wire type, groups nested, and known fields sent with another wire type", () => {
    const unknowns = (n: number): number[][] => [
      u64(n, 2 ** 53),
      u64(n + 1, 0),
      [...tag(n + 2, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 2^64 - 1
      fixed64(n + 3),
      fixed32(n + 4),
      str(n + 5, "ignored"),
      group(n + 6, u64(1, 5), group(2, str(3, "deep"), fixed32(4)), fixed64(5)),
      packed(n + 7, [1, 300, 2 ** 40]),
    ];
    const bytes = [
      ...unknowns(100).flat(),
      ...msg(
        1,
        ...unknowns(6),
        u64(1, 7), // name with the varint wire type: unknown, skipped
        str(1, "p"),
        fixed32(2), // namespace as fixed32: skipped
        str(2, "n"),
        packed(4, [2, 3, 66]), // pod-level cpu_ids
        msg(5, str(1, "memory"), u64(2, 1 << 30)), // pod-level memory
        msg(
          3,
          str(1, "c"),
          packed(3, [1, 2]), // cpu_ids
          msg(4, str(1, "hugepages-2Mi"), u64(2, 2048), msg(3, msg(1, u64(1, 0)))), // memory
          msg(5, str(2, "claim"), str(3, "ns"), msg(4, msg(1, str(1, "vendor.com/nic=a")), str(2, "drv"))), // dynamic_resources
          ...unknowns(9),
          u64(2, 1), // devices with the varint wire type: skipped
          msg(2, str(1, "nvidia.com/gpu"), ...unknowns(4), str(2, "GPU-1"), fixed64(2), str(2, "GPU-2"), msg(3, msg(1, u64(1, 1)))),
        ),
      ),
      ...unknowns(536_870_900).flat(), // field numbers up to 2^29 - 1
    ];
    expect(decode(bytes)).toEqual([
      {
        name: "p",
        namespace: "n",
        containers: [{ name: "c", devices: [{ resourceName: "nvidia.com/gpu", deviceIds: ["GPU-1", "GPU-2"] }] }],
      },
    ]);
  });

  it("keeps the last of a repeated singular string, as protobuf does", () => {
    expect(decode(msg(1, str(1, "first"), str(1, "last"), str(2, "ns")))).toEqual([{ name: "last", namespace: "ns", containers: [] }]);
  });

  it("decodes the reply recorded from the real kubelet pod-resources server (k8s.io/kubelet v0.37.2)", () => {
    const bytes = fixtureBytes();
    expect(bytes.length).toBeGreaterThan(200);
    expect(decodeListPodResourcesResponse(bytes)).toEqual(FIXTURE_PODS);
  });

  it("refuses malformed data with an Error naming the problem and where it is", () => {
    const cases: Array<[string, number[] | Uint8Array, RegExp]> = [
      ["truncated key", [0x8a], /ListPodResourcesResponse at byte 0: truncated varint/],
      ["truncated length", [0x0a, 0x80], /truncated varint/],
      ["length past the end", [0x0a, 0x05, 0x0a, 0x00], /length 5 runs past the end of the message \(2 bytes left\)/],
      ["inner length past its message", msg(1, [0x0a, 0x09, 0x61]), /malformed PodResources at byte 3: length 9 runs past/],
      ["huge length", [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], /length 4294967295 runs past/],
      ["varint of 11 bytes", [0x08, ...Array<number>(10).fill(0x80), 0x00], /varint longer than 10 bytes/],
      ["varint over 64 bits", [0x08, ...Array<number>(9).fill(0xff), 0x02], /varint longer than 64 bits/],
      ["field number 0", [0x02, 0x00], /field number 0/],
      ["wire type 6", [0x0e], /invalid wire type 6/],
      ["wire type 7", msg(1, [0x0f]), /PodResources at byte 2: invalid wire type 7/],
      ["field number past 2^29-1", [...tag(2 ** 29, 0), 0], /field number 536870912 out of range/],
      ["truncated fixed64", [...tag(9, 1), 1, 2, 3], /fixed-size value of 8 bytes runs past/],
      ["truncated fixed32", msg(1, [...tag(9, 5), 1]), /fixed-size value of 4 bytes runs past/],
      ["stray end-group", [...tag(9, 4)], /unexpected end-group for field 9/],
      ["group never closed", [...tag(9, 3), ...u64(1, 1)], /group for field 9 is not closed/],
      ["group closed by another field", [...tag(9, 3), ...tag(8, 4)], /end-group for field 8 closes the group of field 9/],
      ["group closed past its message", [...msg(1, tag(9, 3)), ...tag(9, 4)], /PodResources at byte \d+: group for field 9 is not closed/],
      ["invalid UTF-8 in a name", msg(1, bytesField(1, [0x66, 0xc3, 0x28])), /PodResources at byte 4: string is not valid UTF-8/],
      [
        "invalid UTF-8 in a device id",
        msg(1, msg(3, msg(2, bytesField(2, [0xff])))),
        /ContainerDevices at byte \d+: string is not valid UTF-8/,
      ],
    ];
    for (const [name, bytes, message] of cases) {
      let thrown: unknown;
      try {
        decode(bytes);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, name).toBeInstanceOf(PodResourcesDecodeError);
      expect((thrown as Error).message, name).toMatch(/^pod-resources: malformed \w+ at byte \d+: /);
      expect((thrown as Error).message, name).toMatch(message);
    }
  });

  it("bounds group nesting and message size", () => {
    const nested = (depth: number): number[] => [
      ...Array.from({ length: depth }, () => tag(9, 3)).flat(),
      ...Array.from({ length: depth }, () => tag(9, 4)).flat(),
    ];
    expect(decode(nested(MAX_GROUP_DEPTH))).toEqual([]);
    expect(() => decode(nested(MAX_GROUP_DEPTH + 1))).toThrow(new RegExp(`groups nested deeper than ${MAX_GROUP_DEPTH}`));
    // 100,000 open groups: refused early, no deep recursion.
    expect(() => decode(nested(100_000))).toThrow(PodResourcesDecodeError);
    expect(() => decodeListPodResourcesResponse(new Uint8Array(MAX_MESSAGE_BYTES + 1))).toThrow(
      /ListPodResourcesResponse of 16777217 bytes exceeds 16777216/,
    );
  });

  it("decodes a reply of many pods in linear time", () => {
    const pod = msg(1, str(1, "pod"), str(2, "ns"), msg(3, str(1, "c"), devices("nvidia.com/gpu", ["GPU-0123456789abcdef"])));
    const bytes = Uint8Array.from({ length: 20_000 * pod.length }, (_, i) => pod[i % pod.length]);
    const started = performance.now();
    expect(decodeListPodResourcesResponse(bytes)).toHaveLength(20_000);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("returns or throws PodResourcesDecodeError for random bytes, truncations and mutations, and always ends", () => {
    const seed = fixtureBytes();
    const started = performance.now();
    for (let cut = 0; cut <= seed.length; cut++) decodeGuarded(seed.subarray(0, cut));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => decodeGuarded(bytes)),
      { numRuns: 2000 },
    );
    // One to four bytes of the recording replaced, inserted or deleted.
    const edit = fc.tuple(fc.constantFrom("set", "insert", "delete"), fc.nat(), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const bytes = [...seed];
        for (const [kind, at, value] of edits) {
          const i = at % (bytes.length + 1);
          if (kind === "set") bytes[Math.min(i, bytes.length - 1)] = value;
          else if (kind === "insert") bytes.splice(i, 0, value);
          else bytes.splice(i, 1);
        }
        decodeGuarded(Uint8Array.from(bytes));
      }),
      { numRuns: 2000 },
    );
    // Structured junk: valid keys of every wire type with random payloads, nested in the known messages.
    const key = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 7 })).map(([f, w]) => tag(f, w));
    const junk = fc
      .array(
        fc.oneof(
          key,
          fc.uint8Array({ maxLength: 6 }).map((b) => [...b]),
        ),
        { maxLength: 30 },
      )
      .map((p) => p.flat());
    fc.assert(
      fc.property(junk, junk, junk, (a, b, c) => {
        decodeGuarded(Uint8Array.from(msg(1, a, msg(3, b, msg(2, c)))));
        decodeGuarded(Uint8Array.from([...a, ...b, ...c]));
      }),
      { numRuns: 2000 },
    );
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

describe("gpuOwners", () => {
  it("maps each GPU and MIG device to its pod, namespace and container, leaving other resources out", () => {
    expect(gpuOwners(FIXTURE_PODS)).toEqual(
      new Map([
        ["GPU-6f0b2c1e-8a3d-4b7e-9c51-2d4f8e6a1b03", { pod: "trainer-0", namespace: "ml", container: "trainer" }],
        ["GPU-a81c4d9f-1e27-4c60-b3f5-7e9d0c2b4a16", { pod: "trainer-0", namespace: "ml", container: "trainer" }],
        ["MIG-5e2d7a90-3c41-5f88-a0b6-19c7e4d2f851", { pod: "inference-7c9f", namespace: "serving", container: "server" }],
      ]),
    );
  });

  it("takes another resource predicate, keys time-sliced replicas by UUID and keeps the first holder", () => {
    const pods: PodResources[] = [
      {
        name: "a",
        namespace: "x",
        containers: [{ name: "c1", devices: [{ resourceName: "nvidia.com/gpu.shared", deviceIds: ["GPU-1::0", ""] }] }],
      },
      {
        name: "b",
        namespace: "y",
        containers: [{ name: "c2", devices: [{ resourceName: "nvidia.com/gpu.shared", deviceIds: ["GPU-1::1", "GPU-2::0"] }] }],
      },
      { name: "c", namespace: "z", containers: [{ name: "c3", devices: [{ resourceName: "amd.com/gpu", deviceIds: ["0000:c1:00.0"] }] }] },
    ];
    expect(gpuOwners(pods)).toEqual(new Map());
    expect(gpuOwners(pods, (r) => r === "nvidia.com/gpu.shared")).toEqual(
      new Map([
        ["GPU-1", { pod: "a", namespace: "x", container: "c1" }],
        ["GPU-2", { pod: "b", namespace: "y", container: "c2" }],
      ]),
    );
    expect(gpuOwners(pods, (r) => r === "amd.com/gpu").get("0000:c1:00.0")).toEqual({ pod: "c", namespace: "z", container: "c3" });
  });
});
