import { compileGoRegex } from "../../config/values.js";

/**
 * Decides, line by line, whether a line continues the record before it. One instance per
 * stream of a file: presets are small state machines (a Python traceback's last line is not
 * indented, so a stateless pattern cannot join it).
 */
export interface ContinuationRule {
  continues(line: string): boolean;
}

export type MultilinePreset = "none" | "java" | "python" | "go";

/** A factory of per-stream rules, or undefined when multiline joining is off. */
export function multilineRuleFactory(preset: MultilinePreset, startPattern: string): (() => ContinuationRule) | undefined {
  if (startPattern !== "") {
    const start = compileGoRegex(startPattern);
    return () => new StartPatternRule(start);
  }
  switch (preset) {
    case "none":
      return undefined;
    case "java":
      return () => new JavaRule();
    case "python":
      return () => new PythonRule();
    case "go":
      return () => new GoRule();
  }
}

/** A line matching the start pattern begins a record; any other line continues it. */
export class StartPatternRule implements ContinuationRule {
  constructor(private readonly start: RegExp) {}

  continues(line: string): boolean {
    return !this.start.test(line);
  }
}

// "\tat com.example.Foo.bar(Foo.java:10)", "\t... 3 more", "Caused by: ...", "\tSuppressed: ...",
// "\t... 12 common frames omitted" (logback), and the exception line itself when its class name
// is fully qualified ("java.lang.IllegalStateException: boom"), which loggers print right under
// the message that reported it.
const JAVA_CONTINUATION =
  /^(?:\s+at\s|\s+\.\.\.\s*\d+\s+(?:more|common frames omitted)|\s*Caused by:|\s+Suppressed:|(?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)(?::|$))/;

/** Java stack traces: the exception line, frames and causes continue the log line above them. */
export class JavaRule implements ContinuationRule {
  continues(line: string): boolean {
    return JAVA_CONTINUATION.test(line);
  }
}

const PY_TRACEBACK = /^Traceback \(most recent call last\):\s*$/;
const PY_CHAINED =
  /^(?:During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)\s*$/;
const PY_EXCEPTION_LINE = /^[A-Za-z_][\w.]*(?::.*)?$/;

const enum PyState {
  Outside,
  InTraceback,
  AfterException,
  Chaining,
}

/**
 * Python tracebacks: "Traceback (most recent call last):", indented frame and source lines,
 * then the unindented exception line; chained exceptions ("During handling of the above
 * exception ...") with their blank separator lines join the same record.
 */
export class PythonRule implements ContinuationRule {
  private state = PyState.Outside;

  continues(line: string): boolean {
    switch (this.state) {
      case PyState.InTraceback:
        if (/^\s/.test(line)) return true;
        this.state = PY_EXCEPTION_LINE.test(line) ? PyState.AfterException : PyState.Outside;
        return this.state === PyState.AfterException || this.restart(line);
      case PyState.AfterException:
      case PyState.Chaining:
        if (line.trim() === "" || PY_CHAINED.test(line)) {
          this.state = PyState.Chaining;
          return true;
        }
        if (this.state === PyState.Chaining && PY_TRACEBACK.test(line)) {
          this.state = PyState.InTraceback;
          return true;
        }
        this.state = PyState.Outside;
        return this.restart(line);
      case PyState.Outside:
        return this.restart(line);
    }
  }

  /** A line outside a traceback starts a record; a Traceback header opens one. */
  private restart(line: string): boolean {
    if (PY_TRACEBACK.test(line)) this.state = PyState.InTraceback;
    return false;
  }
}

const GO_PANIC_START = /^(?:panic: |fatal error: |runtime: )/;
// goroutine headers, "[signal ...", frames "pkg.fn(...)", file lines "\t/path/f.go:12 +0x1d",
// "created by ...", "exit status 2", nested "panic: ... [recovered]", blank separators.
const GO_CONTINUATION =
  /^(?:$|\s|goroutine \d+ \[|\[signal |created by |exit status \d|panic: |fatal error: |\.\.\.additional frames elided\.\.\.|[\w.$/*()[\]{}-]+\(.*\)\s*$)/;

/** Go panics and fatal errors with their goroutine dumps. */
export class GoRule implements ContinuationRule {
  private inPanic = false;

  continues(line: string): boolean {
    if (this.inPanic && GO_CONTINUATION.test(line)) return true;
    this.inPanic = GO_PANIC_START.test(line);
    return false;
  }
}
