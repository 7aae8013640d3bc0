/**
 * Long loops on the event loop (walking thousands of stored records): awaiting only promises that are already
 * settled never lets a waiting request in, so a loop calls `await pause()` between items and yields to I/O once
 * it has run for `sliceMs`.
 */
export function timeSlices(sliceMs = 5): () => Promise<void> {
  let budget = performance.now() + sliceMs;
  return async () => {
    if (performance.now() < budget) return;
    await new Promise((resolve) => setImmediate(resolve));
    budget = performance.now() + sliceMs;
  };
}
