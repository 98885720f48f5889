/**
 * The one way a test waits for something to become true. It runs on the timers
 * this module captured when it loaded, so a test's fake clock (sinon) neither
 * stops nor speeds up the wait.
 */
const realSetTimeout = globalThis.setTimeout;
const realSetImmediate = globalThis.setImmediate;
const realNow = performance.now.bind(performance);

export interface WaitOptions {
  /** Give up after this many milliseconds (default 10 s). */
  timeout?: number;
  /** Milliseconds between checks (default 20); 0 checks on every turn of the event loop. */
  interval?: number;
  /** What is awaited, for the error when it does not come (a function is asked then, to show the state at that moment). */
  message?: string | (() => string);
}

/**
 * Checks `predicate` until it gives something truthy and resolves with that;
 * rejects once `timeout` passes ("timed out after 10000 ms waiting for <message>").
 */
export async function waitUntil<T>(predicate: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const { timeout = 10_000, interval = 20, message = 'the condition' } = options;
  const deadline = realNow() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (realNow() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${typeof message === 'function' ? message() : message}`);
    await new Promise((resolve) => (interval > 0 ? realSetTimeout(resolve, interval) : realSetImmediate(resolve)));
  }
}
