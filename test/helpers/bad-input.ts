import fc from "fast-check";
import { CollectorError } from "../../agent/metrics/collector.js";

/**
 * Bad-input checks for pure collector parsers: whatever the text (truncated or mutated
 * recordings, empty, random characters or bytes, one huge line), the parser returns or throws
 * CollectorError, never another exception.
 */

function runGuarded(parse: (text: string) => unknown, text: string): void {
  try {
    parse(text);
  } catch (err) {
    if (!(err instanceof CollectorError)) {
      throw new Error(
        `parser threw ${(err as Error)?.name ?? typeof err} for input ${JSON.stringify(text.slice(0, 200))}: ${String(err)}`,
        { cause: err },
      );
    }
  }
}

/** Lines of `seed` with one line replaced, duplicated, cut or its fields shuffled. */
const mutation = (seed: string) =>
  fc
    .tuple(fc.nat(), fc.constantFrom("replace", "duplicate", "cut", "swap", "blank"), fc.string({ unit: "binary", maxLength: 40 }))
    .map(([at, kind, junk]) => {
      const lines = seed.split("\n");
      const i = lines.length === 0 ? 0 : at % lines.length;
      const fields = (lines[i] ?? "").split(/(\s+)/);
      switch (kind) {
        case "replace":
          lines[i] = junk;
          break;
        case "duplicate":
          lines.splice(i, 0, lines[i] ?? "");
          break;
        case "cut":
          lines[i] = (lines[i] ?? "").slice(0, at % ((lines[i]?.length ?? 0) + 1));
          break;
        case "swap":
          lines[i] = fields.reverse().join("");
          break;
        case "blank":
          lines[i] = fields.map((f, k) => (k === fields.length - 1 ? junk : f)).join("");
          break;
      }
      return lines.join("\n");
    });

export function checkParserOnBadInput(parse: (text: string) => unknown, seed: string, numRuns = 150): void {
  for (const fixed of ["", "\n", " ", "\0", "\n\n\n", seed.slice(0, Math.floor(seed.length / 2)), `${"9".repeat(400)}\n${seed}`]) {
    runGuarded(parse, fixed);
  }
  // One line of 1 MiB, alone and in front of a valid file.
  const huge = "a 1 ".repeat(1 << 18);
  runGuarded(parse, huge);
  runGuarded(parse, `${huge}\n${seed}`);

  fc.assert(
    fc.property(fc.nat({ max: seed.length }), (cut) => runGuarded(parse, seed.slice(0, cut))),
    { numRuns },
  );
  fc.assert(
    fc.property(mutation(seed), (text) => runGuarded(parse, text)),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 500 }), (text) => runGuarded(parse, text)),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 500 }), (bytes) => runGuarded(parse, Buffer.from(bytes).toString("utf8"))),
    { numRuns },
  );
}
