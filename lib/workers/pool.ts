import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { Piscina } from 'piscina';
import { PorchlightError, fromWireError, type WireError } from '../errors';
import { SharedResource, differingFields } from '../process/shared-resource';
import { newNativeGuard, stopBetweenNativeCalls, type NativeGuard } from '../vision/onnx/native-guard';
import type { PingReply } from './tasks';

// sharp must be loaded by the main thread before any worker loads it, or
// libvips can be unloaded under a running worker at exit.
require('sharp');

/** What happens to a new task when the queue is full. */
export type QueuePolicy = 'drop-oldest' | 'reject' | 'wait';
export const QUEUE_POLICIES: readonly QueuePolicy[] = ['drop-oldest', 'reject', 'wait'];

/**
 * Which queue a task waits in. `doorbell`: a press's frames (face-detect,
 * face-recognize), served first. `bulk` (the default): enrollment,
 * re-embedding, labels and calibration, imports, searches, the CLI; it runs
 * when no doorbell task waits.
 */
export type Lane = 'doorbell' | 'bulk';

/**
 * After a doorbell task arrives or ends, bulk tasks wait this long for a free
 * thread: a burst's frames reach the pool one by one (detection, then
 * recognition, then the next frame), and a bulk task slipped in between each
 * would make every frame wait for one.
 */
export const DOORBELL_GRACE_MS = 500;

/** While doorbell work keeps coming, one bulk task still gets the next free thread every this many ms: bulk work is slowed, never starved. */
export const BULK_MAX_WAIT_MS = 5_000;

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
  /** Default `bulk`. */
  lane?: Lane;
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
  /** Of `queued`, the bulk lane's (enrollment, re-embedding, calibration...). */
  queuedBulk: number;
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
  lane: Lane;
  queuedAt: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export const DEFAULT_THREADS = Math.max(1, os.availableParallelism() - 1);
/** Tasks that may wait per lane before the pool refuses or drops one. */
export const DEFAULT_MAX_QUEUE = 32;
/** How long a task may run before its worker is replaced. */
export const DEFAULT_TASK_TIMEOUT_MS = 60_000;

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
  /**
   * Per lane: the bounded queue (`maxQueue` each, so bulk work never fills the
   * doorbell's queue nor has its tasks dropped for a frame) and the tasks of
   * the `wait` policy that found it full, admitted as room frees up.
   */
  private readonly lanes: Record<Lane, { queue: Job[]; waitingForRoom: Job[] }> = {
    doorbell: { queue: [], waitingForRoom: [] },
    bulk: { queue: [], waitingForRoom: [] },
  };
  private lastDoorbellAt = -Infinity;
  private lastBulkStartAt = -Infinity;
  private graceTimer: NodeJS.Timeout | undefined;
  private running = 0;
  /** Each running job: the promise that settles when its thread is done with it, and its native-call guard. */
  private readonly runningJobs = new Map<Job, { done: Promise<void>; guard: NativeGuard }>();
  private closed = false;
  private readonly counters = { completed: 0, failed: 0, dropped: 0, rejected: 0, timeouts: 0, crashes: 0, retries: 0 };

  constructor(options: PoolOptions = {}) {
    super();
    this.threads = Math.max(1, Math.floor(options.threads ?? DEFAULT_THREADS));
    this.maxQueue = Math.max(0, Math.floor(options.maxQueue ?? DEFAULT_MAX_QUEUE));
    this.taskTimeoutMs = options.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
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
        lane: options.lane ?? 'bulk',
        queuedAt: Date.now(),
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      this.admit(job, options.policy ?? 'wait');
    });
  }

  private admit(job: Job, policy: QueuePolicy): void {
    const lane = this.lanes[job.lane];
    if (job.lane === 'doorbell') this.lastDoorbellAt = job.queuedAt;
    lane.queue.push(job); // at the back of its lane; pump decides whether it starts now
    this.pump();
    if (!lane.queue.includes(job) || lane.queue.length <= this.maxQueue) return;
    // Still waiting, and its lane's queue is over the bound: the policy decides.
    lane.queue.pop();
    if (policy === 'drop-oldest' && lane.queue.length > 0) {
      const oldest = lane.queue.shift()!;
      this.counters.dropped++;
      oldest.reject(new PorchlightError('DROPPED', `dropped: the queue was full (${this.maxQueue}) and a newer task arrived`));
      lane.queue.push(job);
    } else if (policy === 'wait') {
      lane.waitingForRoom.push(job);
    } else {
      this.counters.rejected++;
      job.reject(new PorchlightError('QUEUE_FULL', `rejected: ${this.maxQueue} tasks already waiting for ${this.threads} worker(s)`));
    }
    this.emit('change');
  }

  /**
   * The task for the next free thread: doorbell tasks first; a bulk task once
   * no doorbell task has arrived or ended for DOORBELL_GRACE_MS, or when bulk
   * work has waited BULK_MAX_WAIT_MS for its turn.
   */
  private next(now: number): Job | undefined {
    const { doorbell, bulk } = this.lanes;
    const bulkHead = bulk.queue[0] ?? bulk.waitingForRoom[0];
    const starved = bulkHead !== undefined && now - Math.max(bulkHead.queuedAt, this.lastBulkStartAt) >= BULK_MAX_WAIT_MS;
    if (!starved && (doorbell.queue.length > 0 || doorbell.waitingForRoom.length > 0)) return doorbell.queue.shift() ?? doorbell.waitingForRoom.shift();
    if (!bulkHead || (!starved && now - this.lastDoorbellAt < DOORBELL_GRACE_MS)) return undefined;
    this.lastBulkStartAt = now;
    return bulk.queue.shift() ?? bulk.waitingForRoom.shift();
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
      if (job.lane === 'doorbell') this.lastDoorbellAt = Date.now();
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
      this.lanes[job.lane].queue.unshift(job);
    } else {
      job.reject(new PorchlightError('WORKER_CRASHED', `worker thread failed twice on this task: ${err.message}`));
    }
  }

  /**
   * Fills free threads (see next(): doorbell first, each lane in arrival
   * order, its queue before the tasks waiting for room; with maxQueue 0
   * those go straight to a thread), then refills the queues. Bulk work held
   * back for the doorbell's grace time is looked at again when it ends.
   */
  private pump(): void {
    if (!this.closed) {
      const now = Date.now();
      for (let job = this.running < this.threads ? this.next(now) : undefined; job; job = this.running < this.threads ? this.next(now) : undefined) this.start(job);
      const bulkWaiting = this.lanes.bulk.queue.length + this.lanes.bulk.waitingForRoom.length > 0;
      if (bulkWaiting && this.running < this.threads && !this.graceTimer) {
        this.graceTimer = setTimeout(() => {
          this.graceTimer = undefined;
          this.pump();
        }, Math.max(1, this.lastDoorbellAt + DOORBELL_GRACE_MS - now));
        this.graceTimer.unref?.();
      }
    }
    for (const lane of Object.values(this.lanes)) {
      while (lane.waitingForRoom.length > 0 && lane.queue.length < this.maxQueue) lane.queue.push(lane.waitingForRoom.shift()!);
    }
    this.emit('change');
  }

  private queuedIn(lane: Lane): number {
    return this.lanes[lane].queue.length + this.lanes[lane].waitingForRoom.length;
  }

  stats(): PoolStats {
    return { threads: this.threads, running: this.running, queued: this.queuedIn('doorbell') + this.queuedIn('bulk'), queuedBulk: this.queuedIn('bulk'), ...this.counters };
  }

  /**
   * Each thread's own memory (the soak samples it): one ping per thread, each
   * held long enough that no thread takes two while the others are idle,
   * after a full collection where the process has --expose-gc. In the bulk
   * lane, so a press never waits for it.
   */
  async threadMemory(holdMs = 200): Promise<PingReply[]> {
    const replies = await Promise.all(Array.from({ length: this.threads }, () => this.run<PingReply>({ type: 'ping', delayMs: holdMs, collectGarbage: true }, { lane: 'bulk' })));
    return [...new Map(replies.map((reply) => [reply.threadId, reply])).values()];
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
    this.emit('closed'); // no task from now on (the model breakers stop being listed)
    clearTimeout(this.graceTimer);
    const waiting = Object.values(this.lanes).flatMap((lane) => [...lane.queue.splice(0), ...lane.waitingForRoom.splice(0)]);
    for (const job of waiting) {
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

/** The one worker pool of the process: its threads are sized for the machine, so every engine shares it. */
const SHARED_POOL = 'worker-pool';

/** The settings a pool runs with, as a user asked for them (undefined: the default, whatever is in use). */
function poolDifferences(inUse: PoolOptions, asked: PoolOptions): string[] {
  const running = sharedPools.peek(SHARED_POOL);
  const actual: PoolOptions = running ? { threads: running.threads, maxQueue: running.maxQueue, taskTimeoutMs: running.taskTimeoutMs, workerFile: inUse.workerFile } : inUse;
  return differingFields(actual, asked);
}

const sharedPools = new SharedResource<PoolOptions, WorkerPool>({
  what: 'worker pool',
  open: (options) => new WorkerPool(options),
  close: (pool) => pool.close(),
  differences: poolDifferences,
});

/** The process-wide pool if one is running, without creating one (metrics and health read it). */
export function peekSharedPool(): WorkerPool | undefined {
  return sharedPools.peek(SHARED_POOL);
}

/** How many leases on the process-wide pool are held (tests check that every user gave its lease back). */
export function sharedPoolUsers(): number {
  return sharedPools.users(SHARED_POOL);
}

export interface PoolLease {
  readonly pool: WorkerPool;
  /** Set when this user asked for other pool settings than the running pool's: what differs, in words. */
  readonly conflict?: string;
  release(): Promise<void>;
}

/**
 * The process-wide pool: the first user creates it with its options, every
 * other user shares it (told in `conflict` when its options differ), and the
 * last release closes it, so redeploys never leave threads behind.
 */
export function acquireSharedPool(options: PoolOptions = {}): PoolLease {
  const lease = sharedPools.acquire(SHARED_POOL, options);
  return { pool: lease.resource, conflict: lease.conflict, release: lease.release };
}
