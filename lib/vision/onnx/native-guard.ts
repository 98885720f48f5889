import { PorchlightError } from '../../errors';

/**
 * A worker thread terminated inside a native onnxruntime call aborts the
 * whole process ("terminate called after throwing an instance of
 * 'Napi::Error'"), and terminating cannot interrupt native code anyway. So
 * each task carries a guard in shared memory: the worker marks itself busy
 * around every such call and enters none once the pool asked it to stop; the
 * pool terminates the thread only between calls.
 */
/** Native calls in progress (a task may load two models at once). */
const BUSY = 0;
const STOPPING = 1;

export type NativeGuard = Int32Array;

export function newNativeGuard(): NativeGuard {
  return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
}

/** The guard of the task this worker thread runs (one task at a time per thread). */
let current: NativeGuard | undefined;

export function setCurrentGuard(guard: NativeGuard | undefined): void {
  current = guard;
}

/** Runs a native call that a thread termination must not land in. */
export async function guardNativeCall<T>(call: () => Promise<T>): Promise<T> {
  const guard = current;
  if (!guard) return call();
  // Busy first, then the stop check: with the pool's stop-then-busy check (both sequentially consistent), one of the two sees the other.
  Atomics.add(guard, BUSY, 1);
  try {
    if (Atomics.load(guard, STOPPING)) throw new PorchlightError('POOL_CLOSED', 'the worker is being stopped');
    return await call();
  } finally {
    Atomics.sub(guard, BUSY, 1);
  }
}

/** Asks the task's thread to enter no more native calls and waits (at most `maxMs`) until it is out of the one it is in. */
export async function stopBetweenNativeCalls(guard: NativeGuard, maxMs: number): Promise<void> {
  Atomics.store(guard, STOPPING, 1);
  const deadline = Date.now() + maxMs;
  while (Atomics.load(guard, BUSY) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}
