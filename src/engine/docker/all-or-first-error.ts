/**
 * Waits for every task (none is left running behind the caller's back), then rejects with
 * the first failure in order, if any.
 */
export async function allOrFirstError(tasks: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}
