import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { Piscina } from 'piscina';
import { PorchlightError, fromWireError, type WireError } from '../errors';
import { newNativeGuard, stopBetweenNativeCalls, type NativeGuard } from './native-guard';

// sharp must be loaded by the main thread before any worker loads it, or
// libvips can be unloaded under a running worker at exit.
require('sharp');

/** What happens to a new task when the queue is full. */
export type QueuePolicy = 'drop-oldest' | 'reject' | 'wait';

export interface PoolOptions {
  /** Worker threads; default: cores - 1, at least 1. */
  threads?: number;
  /** Tasks waiting for a free worker before the queue policy applies. */
  maxQueue?: number;
  /** A task running longer is abandoned and its worker replaced. */
  taskTimeoutMs?: number;
  /** The worker module (tests point it elsewhere). */
  workerFile?: string;
}

export interface RunOptions {
  policy?: QueuePolicy;
  timeoutMs?: number;
}

/** What the worker thread receives: the task and the guard of its native calls (see native-guard.ts). */
export interface WorkerEnvelope {
  task: unknown;
  guard: NativeGuard;
}

/** Every worker task answers with this envelope, so typed errors survive the thread boundary. */
export type WorkerReply<T> = { ok: true; value: T } | { ok: false; error: WireError };

export interface PoolStats {
  threads: number;
  running: number;
  queued: number;
  completed: number;
  failed: number;
  dropped: number;
  rejected: number;
  timeouts: number;
  crashes: number;
  retries: number;
}

interface Job {
  task: unknown;
  timeoutMs: number;
  attempts: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export const DEFAULT_THREADS = Math.max(1, os.availableParallelism() - 1);

/**
 * How long close() lets running tasks finish before it terminates their
 * threads, and how long the threads get to release their models: both within
 * the 15 s Node-RED gives a node to close.
 */
const CLOSE_DRAIN_MS = 10_000;
const CLOSE_RELEASE_MS = 2_000;
/** How long a thread to be terminated may take to leave the native call it is in. */
const NATIVE_CALL_WAIT_MS = 2_000;

const within = (ms: number, work: Promise<unknown>) =>
  Promise.race([work, new Promise((resolve) => setTimeout(resolve, ms).unref())]);

/**
 * A bounded queue in front of a piscina pool. piscina owns the threads
 * (spawning, replacing crashed ones, aborting); this class owns the policy:
 * how many tasks may wait, what to do on overflow, timeouts, and one retry
 * when a worker dies under a task. Tasks carry images in SharedArrayBuffers,
 * so a retried task still has its bytes and nothing is copied per thread.
 */
export class WorkerPool extends EventEmitter {
  readonly threads: number;
  readonly maxQueue: number;
  readonly taskTimeoutMs: number;
  private readonly piscina: Piscina;
  private readonly queue: Job[] = [];
  /** Tasks of the `wait` policy that found the queue full: admitted as room frees up. */
  private readonly waitingForRoom: Job[] = [];
  private running = 0;
  /** Each running job: the promise that settles when its thread is done with it, and its native-call guard. */
  private readonly runningJobs = new Map<Job, { done: Promise<void>; guard: NativeGuard }>();
  private closed = false;
  private readonly counters = { completed: 0, failed: 0, dropped: 0, rejected: 0, timeouts: 0, crashes: 0, retries: 0 };

  constructor(options: PoolOptions = {}) {
    super();
    this.threads = Math.max(1, Math.floor(options.threads ?? DEFAULT_THREADS));
    this.maxQueue = Math.max(0, Math.floor(options.maxQueue ?? 32));
    this.taskTimeoutMs = options.taskTimeoutMs ?? 60_000;
    this.piscina = new Piscina({
      filename: options.workerFile ?? path.join(__dirname, 'worker.js'),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // The queue lives here: piscina is only handed a task when a thread is free.
      concurrentTasksPerWorker: 1,
    });
    this.piscina.on('error', (err: Error) => this.emit('worker-error', err));
  }

  /** Runs a task on a worker. Rejects with DROPPED, QUEUE_FULL, TASK_TIMEOUT, WORKER_CRASHED or the task's own error. */
  run<T>(task: unknown, options: RunOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new PorchlightError('POOL_CLOSED', 'the worker pool is closed'));
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        task,
        timeoutMs: options.timeoutMs ?? this.taskTimeoutMs,
        attempts: 0,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      this.admit(job, options.policy ?? 'wait');
    });
  }

  private admit(job: Job, policy: QueuePolicy): void {
    if (this.running < this.threads) {
      this.start(job);
    } else if (this.queue.length < this.maxQueue) {
      this.queue.push(job);
    } else if (policy === 'drop-oldest' && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      this.counters.dropped++;
      oldest.reject(new PorchlightError('DROPPED', `dropped: the queue was full (${this.maxQueue}) and a newer task arrived`));
      this.queue.push(job);
    } else if (policy === 'wait') {
      this.waitingForRoom.push(job);
    } else {
      this.counters.rejected++;
      job.reject(new PorchlightError('QUEUE_FULL', `rejected: ${this.maxQueue} tasks already waiting for ${this.threads} worker(s)`));
    }
    this.emit('change');
  }

  private start(job: Job): void {
    this.running++;
    job.attempts++;
    const abort = new AbortController();
    const guard = newNativeGuard();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopBetweenNativeCalls(guard, NATIVE_CALL_WAIT_MS).then(() => abort.abort());
    }, job.timeoutMs);
    // The slot is freed before the job settles: a caller that sends its next
    // task as soon as this one resolves finds the worker free, not busy.
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      this.running--;
      this.runningJobs.delete(job);
      outcome();
      this.pump();
    };
    const envelope: WorkerEnvelope = { task: job.task, guard };
    const done = this.piscina.run(envelope, { signal: abort.signal }).then(
      (reply: WorkerReply<unknown>) => settle(() => (timedOut ? this.onTimeout(job, false) : this.onReply(job, reply))),
      (err: Error) => settle(() => (timedOut ? this.onTimeout(job, true) : this.onThreadFailure(job, err))),
    );
    this.runningJobs.set(job, { done, guard });
  }

  private onReply(job: Job, reply: WorkerReply<unknown>): void {
    if (reply.ok) {
      this.counters.completed++;
      job.resolve(reply.value);
    } else {
      this.counters.failed++;
      job.reject(fromWireError(reply.error));
    }
  }

  /** Over its time: the thread was terminated once out of its native call, or the task ended while that was awaited. */
  private onTimeout(job: Job, replaced: boolean): void {
    this.counters.timeouts++;
    job.reject(new PorchlightError('TASK_TIMEOUT', `task timed out after ${job.timeoutMs} ms${replaced ? '; its worker was replaced' : ''}`));
  }

  /** The thread died or was stopped under the task: piscina replaces it; the task is retried once. */
  private onThreadFailure(job: Job, err: Error): void {
    this.counters.crashes++;
    if (this.closed) {
      job.reject(new PorchlightError('POOL_CLOSED', 'the worker pool closed while the task ran'));
    } else if (job.attempts < 2) {
      this.counters.retries++;
      this.queue.unshift(job);
    } else {
      job.reject(new PorchlightError('WORKER_CRASHED', `worker thread failed twice on this task: ${err.message}`));
    }
  }

  /** Fills free threads in arrival order (queue first, then tasks waiting for room), then refills the queue. */
  private pump(): void {
    if (!this.closed) {
      while (this.running < this.threads && this.queue.length > 0) this.start(this.queue.shift()!);
      // Reached only when the queue is empty: with maxQueue 0, waiting tasks go straight to a thread.
      while (this.running < this.threads && this.waitingForRoom.length > 0) this.start(this.waitingForRoom.shift()!);
    }
    while (this.waitingForRoom.length > 0 && this.queue.length < this.maxQueue) this.queue.push(this.waitingForRoom.shift()!);
    this.emit('change');
  }

  stats(): PoolStats {
    return { threads: this.threads, running: this.running, queued: this.queue.length + this.waitingForRoom.length, ...this.counters };
  }

  /** The live worker threads (tests use them to kill one mid-task). */
  get workerThreads(): ReadonlyArray<{ threadId: number; terminate(): Promise<number> }> {
    return this.piscina.threads as never;
  }

  /**
   * Fails waiting and running tasks with POOL_CLOSED at once, then stops the
   * threads gently: a thread terminated inside a native call (an onnxruntime
   * inference or model load) aborts the whole process with "terminate called
   * after throwing an instance of 'Napi::Error'", so running tasks are let
   * finish first (up to CLOSE_DRAIN_MS) and each idle thread releases its
   * models before it is terminated.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of [...this.queue.splice(0), ...this.waitingForRoom.splice(0)]) {
      job.reject(new PorchlightError('POOL_CLOSED', 'the worker pool closed before the task ran'));
    }
    for (const job of this.runningJobs.keys()) {
      job.reject(new PorchlightError('POOL_CLOSED', 'the worker pool closed while the task ran'));
    }
    const running = [...this.runningJobs.values()];
    await within(CLOSE_DRAIN_MS, Promise.all(running.map((r) => r.done)));
    if (this.running === 0) {
      // Idle threads take one task each: every thread gets its release.
      const release = (): WorkerEnvelope => ({ task: { type: 'release' }, guard: newNativeGuard() });
      const releases = Array.from({ length: this.piscina.threads.length }, () => this.piscina.run(release()).catch(() => undefined));
      await within(CLOSE_RELEASE_MS, Promise.all(releases));
    } else {
      await Promise.all(running.map((r) => stopBetweenNativeCalls(r.guard, NATIVE_CALL_WAIT_MS)));
    }
    await this.piscina.destroy();
    this.emit('change');
  }
}

let shared: { pool: WorkerPool; leases: number } | undefined;

/** The process-wide pool if one is running, without creating one (metrics and health read it). */
export function peekSharedPool(): WorkerPool | undefined {
  return shared?.pool;
}

export interface PoolLease {
  readonly pool: WorkerPool;
  release(): Promise<void>;
}

/**
 * The process-wide pool: the first user creates it with its options, every
 * other user shares it, and the last release closes it, so redeploys never
 * leave threads behind.
 */
export function acquireSharedPool(options: PoolOptions = {}): PoolLease {
  if (!shared) shared = { pool: new WorkerPool(options), leases: 0 };
  const entry = shared;
  entry.leases++;
  let released = false;
  return {
    pool: entry.pool,
    async release() {
      if (released) return;
      released = true;
      entry.leases--;
      if (entry.leases === 0) {
        if (shared === entry) shared = undefined;
        await entry.pool.close();
      }
    },
  };
}
