/**
 * What a tolerant parser skipped: how many lines, and the first one described, so that the
 * collector can count it and log one clear line instead of dropping data silently.
 */
export interface ParseProblems {
  /** Number of lines (or entries) skipped as malformed. */
  count: number;
  /** Description of the first skipped line, e.g. `line 3: "cpu0 x y": not a number`. */
  first?: string;
}

const MAX_SHOWN_LINE = 120;

export function noProblems(): ParseProblems {
  return { count: 0 };
}

/** Records one skipped line; `lineIndex` is 0-based, shown 1-based. */
export function noteProblem(problems: ParseProblems, lineIndex: number, line: string, reason: string): void {
  problems.count++;
  if (problems.first === undefined) {
    const shown = line.length > MAX_SHOWN_LINE ? `${line.slice(0, MAX_SHOWN_LINE)}...` : line;
    problems.first = `line ${lineIndex + 1}: ${JSON.stringify(shown)}: ${reason}`;
  }
}
