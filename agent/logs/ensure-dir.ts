import fs from "node:fs/promises";
import path from "node:path";

/**
 * mkdir -p without fs.mkdir's recursive mode, which never returns for a path under /proc on
 * Node 20 (mkdir there fails with ENOENT although the parent exists, and it retries forever).
 */
export async function ensureDir(dir: string, depth = 0): Promise<void> {
  try {
    await fs.mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    const parent = path.dirname(dir);
    if (code !== "ENOENT" || parent === dir || depth > 64) throw err;
    await ensureDir(parent, depth + 1);
    await fs.mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== "EEXIST") throw again;
    });
  }
}
