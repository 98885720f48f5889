/**
 * Closing the worker pool while its threads hold onnxruntime sessions (issue
 * 8). A worker thread terminated inside a native onnxruntime call (a model
 * load or an inference) takes the whole process down: "terminate called after
 * throwing an instance of 'Napi::Error'", exit 134, once seen in `npm run
 * soak` and easy to cause by closing a pool at the wrong moment. The cycles
 * run in a child process (this file, run by node) so that an abort fails the
 * test instead of killing mocha.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { isPorchlightError } from '../../../lib/errors';
import { embedFaces } from '../../../lib/engine/client';
import { WorkerPool } from '../../../lib/workers/pool';
import { referenceModel, verifyReferenceModels } from '../../support/onnx-models';
import { lfwImage, lfwPeople } from '../../support/paths';

const CYCLES = 36;

/**
 * When a cycle closes its pool: while the threads load the models, while they
 * run inferences, idle with the models loaded, or after tasks over a short
 * timeout had their threads replaced (a timeout terminates the thread too).
 */
const MOMENTS = ['loading', 'inferring', 'idle', 'timed out'] as const;

interface CycleReport {
  moment: (typeof MOMENTS)[number];
  closeMs: number;
  /** How each task of the cycle ended: "faces", "<code>: <message>" of a Porchlight error, or any other error. */
  outcomes: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The child's work: pools of 2 threads on YuNet + MobileFaceNet, each closed at one of the MOMENTS; one JSON report on stdout. */
async function closePoolsUnderLoad(cycles: number): Promise<void> {
  const frames = lfwPeople().slice(0, 8).map((person) => fs.readFileSync(lfwImage(person, 1)));
  const request = {
    detector: 'yunet',
    detectorConfig: { modelPath: referenceModel('yunet_s_640_640.onnx') },
    recognizer: 'onnx',
    recognizerConfig: { modelPath: referenceModel('mobilefacenet_foamliu_alenchen.onnx') },
    secondDetector: 'none',
  };
  const reports: CycleReport[] = [];
  for (let i = 0; i < cycles; i++) {
    const moment = MOMENTS[i % MOMENTS.length];
    // 10 to 90 ms: over a model load or inference at times, not at others.
    const taskTimeoutMs = moment === 'timed out' ? 10 + ((i * 17) % 80) : undefined;
    const pool = new WorkerPool({ threads: 2, maxQueue: 16, taskTimeoutMs });
    const embed = (count: number) => Array.from({ length: count }, (_, k) => embedFaces(pool, frames[(i + k) % frames.length], request));
    let tasks: Array<Promise<unknown>>;
    if (moment === 'timed out') {
      tasks = embed(6);
      await Promise.allSettled(tasks);
    } else if (moment === 'loading') {
      tasks = embed(2);
      await sleep((i * 37) % 400); // spread over the model loads and the first inferences
    } else {
      await Promise.all(embed(2)); // both threads have their sessions
      tasks = moment === 'inferring' ? embed(8) : [];
      if (moment === 'inferring') await sleep((i * 13) % 120);
    }
    const settled = Promise.allSettled(tasks);
    const started = performance.now();
    await pool.close();
    const closeMs = performance.now() - started;
    const outcomes = (await settled).map((outcome) => {
      if (outcome.status === 'fulfilled') return 'faces';
      const err = outcome.reason as Error;
      return isPorchlightError(err) ? `${err.code}: ${err.message}` : `${err.name}: ${err.message}`;
    });
    reports.push({ moment, closeMs, outcomes });
  }
  process.stdout.write(JSON.stringify(reports));
}

if (require.main === module) {
  closePoolsUnderLoad(Number(process.argv[2])).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  describe('worker pool teardown with onnxruntime sessions loaded (lib/workers/pool)', function () {
    this.timeout(120_000);

    before(() => verifyReferenceModels());

    it(`${CYCLES} pools closed while loading models, mid-inference, idle and after timeouts: no native abort, every task ends`, async () => {
      const child = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
        const proc = execFile(process.execPath, [__filename, String(CYCLES)], { timeout: 100_000, maxBuffer: 16 * 2 ** 20 }, (_err, stdout, stderr) =>
          resolve({ code: proc.exitCode, signal: proc.signalCode, stdout, stderr }),
        );
      });
      assert.deepEqual([child.code, child.signal], [0, null], `the child died: ${child.stderr.slice(-2000)}`);
      const reports = JSON.parse(child.stdout) as CycleReport[];
      assert.equal(reports.length, CYCLES);
      const outcomes = reports.flatMap((r) => r.outcomes);
      const unexpected = reports.flatMap((r) => r.outcomes.filter((o) => o !== 'faces' && !o.startsWith(r.moment === 'timed out' ? 'TASK_TIMEOUT' : 'POOL_CLOSED')));
      assert.deepEqual(unexpected, [], 'a task ends with its faces, POOL_CLOSED, or TASK_TIMEOUT when timed out');
      const timeouts = outcomes.filter((o) => o.startsWith('TASK_TIMEOUT: task timed out after') && o.endsWith('its worker was replaced')).length;
      assert.ok(timeouts >= CYCLES / 4, `threads terminated for timeouts (${timeouts} tasks)`);
      const closedWhileRunning = outcomes.filter((o) => o === 'POOL_CLOSED: the worker pool closed while the task ran').length;
      assert.ok(closedWhileRunning >= CYCLES / 3, `pools closed under running tasks (${closedWhileRunning} tasks): the risky moment was reached`);
      const slowest = Math.max(...reports.map((r) => r.closeMs));
      assert.ok(slowest < 12_000, `every close within Node-RED's 15 s, slowest ${Math.round(slowest)} ms`);
    });
  });
}
