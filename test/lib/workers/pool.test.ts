import assert from 'node:assert/strict';
import { isPorchlightError, type PorchlightErrorCode } from '../../../lib/errors';
import { acquireSharedPool, sharedPoolUsers, BULK_MAX_WAIT_MS, WorkerPool, type Lane, type QueuePolicy } from '../../../lib/workers/pool';
import type { PingTask } from '../../../lib/workers/tasks';
import { osThreadCount, osThreadIds, settledThreadCount } from '../../support/threads';
import { waitUntil } from '../../support/wait';

interface PingResult {
  threadId: number;
}

function ping(pool: WorkerPool, task: Omit<PingTask, 'type'> = {}, options: { policy?: QueuePolicy; timeoutMs?: number; lane?: Lane } = {}): Promise<PingResult> {
  return pool.run<PingResult>({ type: 'ping', ...task }, options);
}

function failsWith(code: PorchlightErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(isPorchlightError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

describe('worker pool (lib/workers/pool)', function () {
  this.timeout(30_000);

  let pool: WorkerPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('runs more concurrent tasks than workers, never more at once than it has threads', async () => {
    pool = new WorkerPool({ threads: 2, maxQueue: 16 });
    let mostRunning = 0;
    pool.on('change', () => (mostRunning = Math.max(mostRunning, pool!.stats().running)));
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 8 }, () => ping(pool!, { delayMs: 150 })));
    assert.equal(new Set(results.map((r) => r.threadId)).size, 2, 'both workers took tasks');
    assert.equal(mostRunning, 2);
    assert.ok(Date.now() - started >= 4 * 150 - 20, '8 tasks of 150 ms on 2 threads take at least 4 rounds');
    assert.equal(pool.stats().completed, 8);
  });

  it("tells each thread's own memory once: every thread, its V8 heap and external memory", async () => {
    pool = new WorkerPool({ threads: 2, maxQueue: 16 });
    const threads = await pool.threadMemory();
    assert.equal(threads.length, 2);
    assert.equal(new Set(threads.map((t) => t.threadId)).size, 2, 'one reply per thread, not two from one');
    for (const { memory } of threads) {
      assert.ok(memory.heapUsed > 0 && memory.heapUsed <= memory.heapTotal, `heap ${memory.heapUsed} of ${memory.heapTotal}`);
      // A thread's heap, not the process's: the main thread's is bigger (mocha, Node's own modules).
      assert.ok(memory.heapTotal < process.memoryUsage().heapTotal * 4);
      assert.ok(memory.external >= 0 && memory.arrayBuffers >= 0);
    }
  });

  it('a caller that sends its next task as soon as one resolves finds the worker free', async () => {
    pool = new WorkerPool({ threads: 1, maxQueue: 0 });
    for (let i = 0; i < 5; i++) await ping(pool, {}, { policy: 'reject' });
    assert.deepEqual([pool.stats().completed, pool.stats().rejected], [5, 0]);
  });

  it('wait with no queue at all (maxQueue 0) still runs every task, one after another', async () => {
    pool = new WorkerPool({ threads: 1, maxQueue: 0 });
    const results = await Promise.all(Array.from({ length: 4 }, () => ping(pool!, { delayMs: 20 }, { policy: 'wait' })));
    assert.equal(results.length, 4);
    assert.equal(pool.stats().completed, 4);
  });

  describe('queue policies when the queue is full (1 thread busy, 2 waiting)', () => {
    /** One task running and two queued behind it: the queue (maxQueue 2) is full. */
    function fillPool(): { busy: Promise<PingResult>; queued: Array<Promise<PingResult>> } {
      pool = new WorkerPool({ threads: 1, maxQueue: 2 });
      const busy = ping(pool, { delayMs: 300 });
      const queued = [ping(pool, { delayMs: 10 }), ping(pool, { delayMs: 10 })];
      assert.deepEqual([pool.stats().running, pool.stats().queued], [1, 2]);
      return { busy, queued };
    }

    it('drop-oldest: the oldest waiting task fails with DROPPED and the newcomer runs', async () => {
      const { busy, queued } = fillPool();
      const newcomer = ping(pool!, {}, { policy: 'drop-oldest' });
      await assert.rejects(queued[0], failsWith('DROPPED', /dropped: the queue was full \(2\) and a newer task arrived/));
      await Promise.all([busy, queued[1], newcomer]);
      assert.deepEqual([pool!.stats().dropped, pool!.stats().completed], [1, 3]);
    });

    it('reject: the newcomer fails at once with QUEUE_FULL; the others run', async () => {
      const { busy, queued } = fillPool();
      const started = Date.now();
      await assert.rejects(ping(pool!, {}, { policy: 'reject' }), failsWith('QUEUE_FULL', /rejected: 2 tasks already waiting for 1 worker/));
      assert.ok(Date.now() - started < 100, 'refused without waiting for the busy worker');
      await Promise.all([busy, ...queued]);
      assert.deepEqual([pool!.stats().rejected, pool!.stats().completed], [1, 3]);
    });

    it('wait: the newcomer waits for room and runs after the others, in order', async () => {
      const { busy, queued } = fillPool();
      const finished: string[] = [];
      const track = (name: string, task: Promise<PingResult>) => task.then(() => finished.push(name));
      const newcomer = ping(pool!, {}, { policy: 'wait' });
      assert.equal(pool!.stats().queued, 3);
      await Promise.all([track('busy', busy), track('first', queued[0]), track('second', queued[1]), track('newcomer', newcomer)]);
      assert.deepEqual(finished, ['busy', 'first', 'second', 'newcomer']);
      assert.equal(pool!.stats().completed, 4);
    });
  });

  describe('the doorbell lane (presses before bulk work)', () => {
    it('a doorbell task queued behind bulk tasks runs next, before them', async () => {
      pool = new WorkerPool({ threads: 1, maxQueue: 8 });
      const finished: string[] = [];
      const track = (name: string, task: Promise<PingResult>) => task.then(() => finished.push(name));
      const bulk = Array.from({ length: 6 }, (_, i) => track(`bulk ${i}`, ping(pool!, { delayMs: i === 0 ? 200 : 20 })));
      const doorbell = track('doorbell', ping(pool!, { delayMs: 20 }, { lane: 'doorbell' }));
      assert.deepEqual([pool.stats().queued, pool.stats().queuedBulk], [6, 5]);
      await Promise.all([...bulk, doorbell]);
      assert.deepEqual(finished, ['bulk 0', 'doorbell', 'bulk 1', 'bulk 2', 'bulk 3', 'bulk 4', 'bulk 5']);
    });

    it("a burst's next frame, sent when the previous frame's answer arrives, still goes before the bulk work waiting", async () => {
      pool = new WorkerPool({ threads: 1, maxQueue: 8 });
      const finished: string[] = [];
      const track = (name: string, task: Promise<PingResult>) => task.then(() => finished.push(name));
      const first = ping(pool, { delayMs: 50 }, { lane: 'doorbell' });
      const bulk = Array.from({ length: 3 }, (_, i) => track(`bulk ${i}`, ping(pool!, { delayMs: 20 })));
      // Detection, then recognition, then the next frame: each sent once the previous answer is in.
      let frames = track('frame 1', first);
      for (let n = 2; n <= 4; n++) frames = frames.then(() => track(`frame ${n}`, ping(pool!, { delayMs: 20 }, { lane: 'doorbell' })));
      await Promise.all([...bulk, frames]);
      assert.deepEqual(finished, ['frame 1', 'frame 2', 'frame 3', 'frame 4', 'bulk 0', 'bulk 1', 'bulk 2']);
    });

    it('bulk work is slowed, not starved, by doorbell work that never stops', async function () {
      this.timeout(BULK_MAX_WAIT_MS * 4);
      pool = new WorkerPool({ threads: 1, maxQueue: 8 });
      let stop = false;
      const doorbellLoop = (async () => {
        while (!stop) await ping(pool!, { delayMs: 50 }, { lane: 'doorbell' });
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await ping(pool, { delayMs: 10 });
      const waited = Date.now() - started;
      stop = true;
      await doorbellLoop;
      assert.ok(waited < BULK_MAX_WAIT_MS * 3, `the bulk task ran after ${waited} ms`);
    });

    it('bulk tasks never fill the doorbell queue: a frame with drop-oldest drops no bulk task', async () => {
      pool = new WorkerPool({ threads: 1, maxQueue: 2 });
      const bulk = Array.from({ length: 5 }, () => ping(pool!, { delayMs: 20 }));
      const frames = Array.from({ length: 3 }, () => ping(pool!, { delayMs: 20 }, { policy: 'drop-oldest', lane: 'doorbell' }));
      const outcomes = await Promise.allSettled([...bulk, ...frames]);
      assert.deepEqual(outcomes.slice(0, 5).map((o) => o.status), Array(5).fill('fulfilled'), 'every bulk task ran');
      assert.equal(outcomes.slice(5).filter((o) => o.status === 'rejected').length, 1, 'one frame dropped: its own lane was full');
    });
  });

  describe('crashes and timeouts', () => {
    it('a worker killed mid-task is replaced and the task retried on the new one', async () => {
      pool = new WorkerPool({ threads: 1, maxQueue: 4 });
      const { threadId: first } = await ping(pool);
      const task = ping(pool, { delayMs: 800 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const victim = pool.workerThreads.find((t) => t.threadId === first);
      assert.ok(victim, 'the busy worker is listed');
      await victim.terminate();
      const { threadId: second } = await task;
      assert.notEqual(second, first, 'retried on a fresh thread');
      assert.deepEqual([pool.stats().crashes, pool.stats().retries, pool.stats().completed], [1, 1, 2]);
      await waitUntil(() => pool!.workerThreads.length === 1, { timeout: 5000, interval: 50, message: 'back to one thread' });
    });

    it('a task that kills its worker twice fails with WORKER_CRASHED, and the pool keeps working', async () => {
      pool = new WorkerPool({ threads: 1, maxQueue: 4 });
      await assert.rejects(ping(pool, { crash: true }), failsWith('WORKER_CRASHED', /worker thread failed twice on this task/));
      assert.deepEqual([pool.stats().crashes, pool.stats().retries], [2, 1]);
      const { threadId } = await ping(pool);
      assert.ok(threadId > 0);
    });

    it('a task over its timeout fails with TASK_TIMEOUT, and its worker is replaced', async () => {
      pool = new WorkerPool({ threads: 1, maxQueue: 4, taskTimeoutMs: 10_000 });
      const { threadId: first } = await ping(pool);
      const started = Date.now();
      await assert.rejects(ping(pool, { delayMs: 5000 }, { timeoutMs: 200 }), failsWith('TASK_TIMEOUT', /task timed out after 200 ms/));
      assert.ok(Date.now() - started < 2000, 'abandoned at the timeout, not at the end of the task');
      const { threadId: second } = await ping(pool);
      assert.notEqual(second, first);
      assert.equal(pool.stats().timeouts, 1);
    });

    it('the pool default timeout applies when a task sets none', async () => {
      pool = new WorkerPool({ threads: 1, taskTimeoutMs: 150 });
      await assert.rejects(ping(pool, { delayMs: 3000 }), failsWith('TASK_TIMEOUT', /after 150 ms/));
    });
  });

  describe('closing', () => {
    it('fails running and waiting tasks with POOL_CLOSED, and refuses new ones', async () => {
      pool = new WorkerPool({ threads: 1, maxQueue: 4 });
      await ping(pool);
      const running = ping(pool, { delayMs: 2000 });
      const waiting = ping(pool);
      const closed = pool.close();
      await assert.rejects(waiting, failsWith('POOL_CLOSED', /closed before the task ran/));
      await assert.rejects(running, failsWith('POOL_CLOSED', /closed while the task ran/));
      await closed;
      await assert.rejects(ping(pool), failsWith('POOL_CLOSED', /the worker pool is closed/));
    });

    it('the shared pool is one per process and closes with its last lease', async () => {
      const first = acquireSharedPool({ threads: 1 });
      const second = acquireSharedPool({ threads: 2 });
      assert.equal(first.pool, second.pool, 'the second user shares the first one\'s pool');
      assert.equal(first.conflict, undefined);
      assert.equal(second.conflict, 'the worker pool worker-pool is already open with other settings; using it as it is: threads 2 (in use: 1)', 'the later user is told, not silently given the first one\'s');
      const noPreference = acquireSharedPool({});
      assert.equal(noPreference.conflict, undefined, 'a user leaving a setting to the default takes what is in use');
      assert.equal(sharedPoolUsers(), 3);
      await noPreference.release();
      await first.release();
      await first.release(); // releasing twice counts once
      assert.ok((await ping(second.pool)).threadId > 0, 'still open while a lease remains');
      await second.release();
      await assert.rejects(ping(second.pool), failsWith('POOL_CLOSED', /closed/));
      const third = acquireSharedPool({ threads: 1 });
      assert.notEqual(third.pool, first.pool, 'a new pool after the last release');
      await third.release();
      assert.equal(sharedPoolUsers(), 0);
    });

    it('leaves no OS threads behind after 20 pools are opened, used and closed', async () => {
      const warmup = new WorkerPool({ threads: 2 });
      await Promise.all([ping(warmup), ping(warmup)]);
      await warmup.close();
      const baseline = await settledThreadCount();
      for (let i = 0; i < 20; i++) {
        // New thread ids, not the count: threads left by earlier test files may end meanwhile.
        const before = osThreadIds();
        const cycle = new WorkerPool({ threads: 2 });
        await Promise.all([ping(cycle), ping(cycle)]);
        const started = [...osThreadIds()].filter((id) => !before.has(id));
        assert.ok(started.length >= 2, `workers are OS threads while the pool is open (${started.length} new)`);
        await cycle.close();
      }
      await waitUntil(() => osThreadCount() <= baseline, { timeout: 5000, interval: 50, message: () => `threads back to ${baseline}, now ${osThreadCount()}` });
    });
  });
});
