import path from "node:path";
import { exists, readTextIfExists } from "../../host/read.js";
import type { HostPaths } from "../../host/paths.js";
import type { CollectorDefinition } from "../collector.js";
import { gauge } from "../model.js";
import { hasReadOnlyOption } from "../parsers/mountinfo.js";
import { parseInt64 } from "../parsers/numbers.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's selinux collector (collector/selinux_linux.go), which asks
 * github.com/opencontainers/selinux (go-selinux):
 * - enabled: a writable selinuxfs is mounted (the sysfs's fs/selinux first, else, when
 *   /proc/filesystems lists selinuxfs, the first one /proc/self/mountinfo names) and this process's
 *   SELinux label is not "kernel" (SELinux on but no policy loaded);
 * - current mode: <selinuxfs>/enforce read with strconv.Atoi, -1 when unreadable or not a number;
 * - config mode: SELINUX= in the root filesystem's /etc/selinux/config, enforcing 1, permissive 0,
 *   anything else (or no file) -1.
 * With SELinux off only node_selinux_enabled 0 is emitted. Nothing here fails the collector: like
 * go-selinux, an unreadable file reads as "not enabled" or -1.
 *
 * go-selinux checks a candidate mount with statfs(2) (SELINUX_MAGIC, not ST_RDONLY); here the same
 * facts come from mountinfo (the filesystem type and the ro flag of the mount, or of its
 * superblock), so that the check works on recorded trees too. Like go-selinux, which decides once
 * per process, the mount and the enabled state are found on the first scrape and kept; the modes
 * are read on every scrape.
 */

const enabledDesc = gauge("node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false");
const configModeDesc = gauge("node_selinux_config_mode", "Configured SELinux enforcement mode");
const currentModeDesc = gauge("node_selinux_current_mode", "Current SELinux enforcement mode");

/** go-selinux's modes. */
export const ENFORCING = 1;
export const PERMISSIVE = 0;
export const DISABLED = -1;

interface MountState {
  readonly fsType: string;
  readonly readOnly: boolean;
}

/** The topmost mount at each mount point (field 5, as written: go-selinux does not decode \040). */
function mountsByPoint(mountinfo: string): Map<string, MountState> {
  const mounts = new Map<string, MountState>();
  for (const line of mountinfo.split("\n")) {
    const fields = line.replace(/\r$/, "").split(" ");
    // The optional fields (7...) end at a lone "-"; the filesystem type and superblock options follow.
    const dash = fields.indexOf("-", 6);
    if (fields.length < 6 || dash === -1 || dash + 1 >= fields.length) continue;
    mounts.set(fields[4], {
      fsType: fields[dash + 1],
      readOnly: hasReadOnlyOption(fields[5]) || hasReadOnlyOption(fields[dash + 3] ?? ""),
    });
  }
  return mounts;
}

/**
 * go-selinux's findSELinuxfs on mountinfo text: `preferred` (its /sys/fs/selinux) when a writable
 * selinuxfs is mounted there; else, only when /proc/filesystems lists selinuxfs, the first mount
 * point of a " - selinuxfs " line whose topmost mount is a writable selinuxfs. undefined if none.
 */
export function findSelinuxfs(mountinfo: string, preferred: string, filesystems: string): string | undefined {
  const mounts = mountsByPoint(mountinfo);
  const usable = (point: string) => {
    const mount = mounts.get(point);
    return mount !== undefined && mount.fsType === "selinuxfs" && !mount.readOnly;
  };
  if (usable(preferred)) return preferred;
  if (!filesystems.includes("\tselinuxfs\n")) return undefined;
  for (const line of mountinfo.split("\n")) {
    if (!line.includes(" - selinuxfs ")) continue;
    const fields = line.split(" ", 6);
    if (fields.length < 6) continue;
    if (usable(fields[4])) return fields[4];
  }
  return undefined;
}

/** The content of /proc/thread-self/attr/current without its trailing NUL, as go-selinux's CurrentLabel. */
export function parseSelinuxLabel(text: string): string {
  return text.endsWith("\0") ? text.slice(0, -1) : text;
}

/** go-selinux's EnforceMode on the content of <selinuxfs>/enforce: strconv.Atoi of all of it, -1 when that fails. */
export function parseEnforceMode(text: string | undefined): number {
  if (text === undefined) return DISABLED;
  const mode = parseInt64(text);
  return Number.isNaN(mode) ? DISABLED : mode;
}

/**
 * go-selinux's DefaultEnforceMode on /etc/selinux/config: the first SELINUX=<value> line (lines
 * trimmed, blank ones and ;/# comments skipped, the key compared exactly, the value stripped of
 * double quotes only); "enforcing" 1, "permissive" 0, anything else or no such line -1.
 */
export function parseConfigMode(text: string | undefined): number {
  if (text === undefined) return DISABLED;
  for (const raw of text.split("\n")) {
    const line = goTrimSpace(raw);
    if (line === "" || line[0] === ";" || line[0] === "#") continue;
    const eq = line.indexOf("=");
    if (eq === -1 || line.slice(0, eq) !== "SELINUX") continue;
    const value = line.slice(eq + 1).replace(/^"+|"+$/g, "");
    return value === "enforcing" ? ENFORCING : value === "permissive" ? PERMISSIVE : DISABLED;
  }
  return DISABLED;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readTextIfExists(file);
  } catch {
    return undefined;
  }
}

/** go-selinux's getEnabled: the selinuxfs mount point when SELinux is enabled, else undefined. */
export function discoverSelinuxfs(paths: HostPaths): string | undefined {
  const filesystems = readOrUndefined(paths.proc("filesystems")) ?? "";
  const preferred = paths.sys("fs", "selinux");
  // Neither listed by the kernel nor at its usual place: mountinfo (large on busy nodes) need not be read.
  if (!filesystems.includes("\tselinuxfs\n") && !exists(path.join(preferred, "enforce"))) return undefined;
  const mountinfo = readOrUndefined(paths.proc("self", "mountinfo"));
  if (mountinfo === undefined) return undefined;
  const mount = findSelinuxfs(mountinfo, preferred, filesystems);
  if (mount === undefined) return undefined;
  // An unreadable label reads as "" (enabled), as in go-selinux.
  const label = readOrUndefined(paths.proc("thread-self", "attr", "current")) ?? readOrUndefined(paths.proc("self", "attr", "current"));
  return parseSelinuxLabel(label ?? "") === "kernel" ? undefined : mount;
}

export const collector: CollectorDefinition = {
  name: "selinux",
  defaultEnabled: true,
  create({ paths }) {
    let found: { mount: string | undefined } | undefined;
    return {
      name: "selinux",
      update(out) {
        found ??= { mount: discoverSelinuxfs(paths) };
        const mount = found.mount;
        if (mount === undefined) {
          out.add(enabledDesc, 0);
          return;
        }
        out.add(enabledDesc, 1);
        out.add(configModeDesc, parseConfigMode(readOrUndefined(paths.root("etc", "selinux", "config"))));
        out.add(currentModeDesc, parseEnforceMode(readOrUndefined(path.join(mount, "enforce"))));
      },
    };
  },
};
