// Bounded concurrency for the mask work. A client masks against every other participant and the
// server regenerates dropped × surviving pairwise masks: issuing them all at once would hold every
// L-element mask in memory together (900 × 168 KB for 10 of 100 clients dropping). A few in flight
// keep WebCrypto's worker threads busy; each mask is folded into the sum as it arrives (addition
// mod 2^32 commutes, so the order of arrival does not change the result).

/** In-flight tasks: enough to keep a thread pool of a few workers busy. */
export const IN_FLIGHT = 8;

/** Runs f over items with at most `limit` calls pending at once; rejects with the first error, after which no new call starts. */
export async function eachLimited<T>(items: readonly T[], f: (item: T, index: number) => Promise<void>, limit = IN_FLIGHT): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        await f(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
