import { describe, expect, it } from "vitest";
import { collector, parseEntropyValue } from "../../../agent/metrics/collectors/entropy.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees } from "../../helpers/host-tree.js";

useHostTrees();

describe("entropy collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(diffFamilies(toParsed(await collectOnce(collector)), ["node_entropy_available_bits", "node_entropy_pool_size_bits"])).toEqual(
      [],
    );
  });

  it("fails with a CollectorError naming the file when a value is missing or not a number", async () => {
    await expect(scrapeTree(collector, hostTree({ "proc/sys/kernel/random/poolsize": "256\n" }))).rejects.toThrow(
      /entropy_avail: missing or unreadable/,
    );
    const paths = hostTree({ "proc/sys/kernel/random/entropy_avail": "256\n", "proc/sys/kernel/random/poolsize": "many\n" });
    await expect(scrapeTree(collector, paths)).rejects.toThrow(/poolsize: expected an unsigned integer/);
  });
});

describe("parseEntropyValue", () => {
  it("parses a trimmed unsigned integer", () => {
    expect(parseEntropyValue("256\n")).toBe(256);
    expect(parseEntropyValue("-1\n")).toBeNaN();
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseEntropyValue, "1337\n");
  });
});
