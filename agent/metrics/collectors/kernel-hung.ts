import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter } from "../model.js";
import { parseUint } from "../parsers/numbers.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's kernel_hung collector (collector/kernel_hung_linux.go with procfs's KernelHung):
 * /proc/sys/kernel/hung_task_detect_count, the number of tasks the kernel's hung-task detector
 * has reported since boot. On by default since node_exporter 1.11. The file exists only on
 * kernels built with CONFIG_DETECT_HUNG_TASK (6.7 and later): without it the collector emits
 * nothing (node_exporter's ErrNoData); an unreadable file or a value that is not a uint64 fails it.
 */

const hungTasks = counter("node_kernel_hung_tasks_total", "Total number of tasks that have been detected as hung since the system booted.");

/** strconv.ParseUint(strings.TrimSpace(text), 10, 64); CollectorError otherwise. */
export function parseHungTaskCount(text: string): number {
  const trimmed = goTrimSpace(text);
  const value = parseUint(trimmed);
  if (Number.isNaN(value)) throw new CollectorError(`expected an unsigned integer, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  return value;
}

export const collector: CollectorDefinition = {
  name: "kernel_hung",
  defaultEnabled: true,
  create({ paths }) {
    const file = paths.proc("sys/kernel/hung_task_detect_count");
    return {
      name: "kernel_hung",
      update(out) {
        const text = readHostFile(file, 4096);
        if (text === undefined) return;
        let value: number;
        try {
          value = parseHungTaskCount(text);
        } catch (err) {
          throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
        }
        out.add(hungTasks, value);
      },
    };
  },
};
