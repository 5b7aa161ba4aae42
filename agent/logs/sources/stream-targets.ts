import fs from "node:fs/promises";
import path from "node:path";

/**
 * Where a file really is when the path an include names is a symlink: Fluent Bit's and many
 * users' include, the kubelet's `/var/log/containers/<pod>_<ns>_<container>-<id>.log`, links to
 * `/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log`. The kubelet (and logrotate, for a linked
 * file) renames, copies and compresses the target next to the target, so rotated files are
 * looked for there, not next to the symlink. Resolved when a stream's active file is opened, kept
 * by its tailer and in its checkpoints (`target`): after a restart the symlink may be gone with
 * its container, or dangle between the rename and the new file.
 */
export interface SymlinkTarget {
  /** The resolved path of the file. */
  target: string;
  /**
   * The target is in another directory than the symlink: its renames and writes raise watch
   * events there, not in the watched directory of the symlink, so the path is stat'ed at every
   * scan and polled at every poll.
   */
  elsewhere: boolean;
}

/**
 * The target of `file` when its last component is a symlink, else undefined. A symlinked
 * directory on the way (`/var/log` on another disk) is not one: the rotated files are listed
 * through it, and watch events of the directory cover them.
 */
export async function symlinkTarget(file: string): Promise<SymlinkTarget | undefined> {
  try {
    const [real, realDir] = await Promise.all([fs.realpath(file), fs.realpath(path.dirname(file))]);
    if (real === path.join(realDir, path.basename(file))) return undefined;
    return { target: real, elsewhere: path.dirname(real) !== realDir };
  } catch {
    return undefined; // gone or dangling since it was opened: its next generation resolves it
  }
}

/** The path next to which a stream's rotated files are: its symlink's target, else the stream. */
export const rotationHome = (stream: string, target: string | undefined): string => target ?? stream;
