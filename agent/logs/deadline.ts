/** Whether `p` settles before `deadlineAt` (ms since epoch; Infinity waits as long as it takes). */
export async function settlesBy(p: Promise<unknown>, deadlineAt: number): Promise<boolean> {
  if (deadlineAt === Infinity) {
    await p.catch(() => undefined);
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadlineAt - Date.now()));
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
