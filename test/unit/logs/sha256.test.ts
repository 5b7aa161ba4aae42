import crypto from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../../agent/logs/sources/sha256.js";
import { fingerprintOf } from "../../../agent/logs/sources/file-identity.js";

const nodeSha256 = (data: Uint8Array) => crypto.createHash("sha256").update(data).digest("hex");

describe("sha256Hex (the fingerprints' hash, without node:crypto)", () => {
  it("gives the FIPS 180-4 test vectors", () => {
    expect(sha256Hex(Buffer.from(""))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex(Buffer.from("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(Buffer.from("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("agrees with node:crypto at every length around the block and padding boundaries", () => {
    const data = crypto.randomBytes(300);
    for (let n = 0; n <= data.length; n++) expect(sha256Hex(data.subarray(0, n)), `length ${n}`).toBe(nodeSha256(data.subarray(0, n)));
  });

  it("agrees with node:crypto on random input up to the largest fingerprint (64 KiB), offsets included", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 * 1024 + 3 }), fc.nat(3), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(sha256Hex(view)).toBe(nodeSha256(view));
      }),
      { numRuns: 200 },
    );
  });

  it("keeps the fingerprints that checkpoints hold (sha256, first 32 hex digits)", () => {
    const head = Buffer.from("2024-05-01T10:00:00.000000000Z stdout F hello\n".repeat(6));
    expect(fingerprintOf(head)).toBe(nodeSha256(head).slice(0, 32));
  });
});
