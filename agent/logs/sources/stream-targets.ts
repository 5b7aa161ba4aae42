import fs from "node:fs/promises";

/**
 * Where a stream's file really is when its path goes through a symlink: Fluent Bit's and many
 * users' include, the kubelet's `/var/log/containers/<pod>_<ns>_<container>-<id>.log`, links to
 * `/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log`. The kubelet (and logrotate, for a linked
 * file) renames and copies the target, next to the target: the rotated files are looked for
 * there, not next to the symlink. Resolved when a stream's active file is opened, and kept in its
 * checkpoint (`target`): after a restart the symlink may be gone with its container, or dangle
 * between the rename and the new file.
 */
export class StreamTargets {
  /** Stream path -> its resolved path, only where the two differ. */
  private readonly targets = new Map<string, string>();

  /** Resolves `stream` now; where it cannot be resolved (gone, dangling) the last target stays. */
  async refresh(stream: string): Promise<void> {
    const real = await fs.realpath(stream).catch(() => undefined);
    if (real === undefined) return;
    if (real === stream) this.targets.delete(stream);
    else this.targets.set(stream, real);
  }

  /** A target from a checkpoint of the previous run. */
  remember(stream: string, target: string | undefined): void {
    if (target !== undefined && target !== stream && !this.targets.has(stream)) this.targets.set(stream, target);
  }

  /** The path next to which `stream`'s rotated files are: its target, or the stream itself. */
  of(stream: string): string {
    return this.targets.get(stream) ?? stream;
  }

  /** The target to keep in a checkpoint of `stream`, if it differs. */
  targetOf(stream: string): string | undefined {
    return this.targets.get(stream);
  }

  forget(stream: string): void {
    this.targets.delete(stream);
  }
}
