import path from 'node:path';
import { isPorchlightError, type PorchlightErrorCode } from '../errors';
import { CircuitBreaker, trackBreaker, type CircuitBreakerOptions } from '../process/circuit-breaker';
import type { RunOptions, WorkerPool } from '../workers/pool';
import type { DetectTask, DetectTaskResult, EmbedTask } from '../workers/tasks';

/**
 * The model backend's breaker, per pipeline (detector, or detector and
 * recognizer, with their model files): 5 failures within a minute open it
 * (a frame a second that fails every time opens it in 5 s; a rare crash
 * never does); then no task of that pipeline for a minute: each would load
 * the broken model again (seconds of a worker) only to fail; then one trial
 * task, closed at its success.
 */
export const MODEL_BREAKER: CircuitBreakerOptions = { failures: 5, windowMs: 60_000, coolOffMs: 60_000 };

/**
 * The errors of the backend itself: a model that does not load, an inference
 * that throws (INTERNAL: onnxruntime's own errors), hangs or kills its thread.
 * A bad picture (NOT_AN_IMAGE, CORRUPT_IMAGE, BAD_INPUT...), a full queue, a
 * closed pool or a misnamed detector say nothing about the backend.
 */
const BACKEND_FAILURES: ReadonlySet<PorchlightErrorCode> = new Set(['MODEL_UNAVAILABLE', 'INTERNAL', 'TASK_TIMEOUT', 'WORKER_CRASHED']);

export function isBackendFailure(err: unknown): boolean {
  return isPorchlightError(err) ? BACKEND_FAILURES.has(err.code) : true;
}

/** One model of a task: its file's name when it has one, else the network's name. */
function modelName(name: string | undefined, config: Record<string, unknown> | undefined): string {
  const file = config?.modelPath;
  return typeof file === 'string' && file ? path.basename(file) : name ?? 'faceapi-resnet128';
}

/** The pipeline a task runs, as its breaker is named: `model yunet_s_640_640.onnx + mobilefacenet_foamliu_alenchen.onnx`. */
export function modelStage(task: DetectTask | EmbedTask): string {
  const detector = modelName(task.detector, task.detectorConfig);
  if (task.type === 'detect') return `model ${detector}`;
  const recognizer = modelName(task.recognizer, task.recognizerConfig);
  return `model ${task.faces ? recognizer : `${detector} + ${recognizer}`}`;
}

/**
 * Detectors that stand in for a paused one: face-api's SSD MobileNet as an
 * ONNX graph is built from the weights face-api ships, so it needs no model
 * file of its own. A paused embedding pipeline has no stand-in: another
 * recognizer's embeddings would not match the faces enrolled with this one
 * (a household member called a stranger), so it fails fast instead.
 */
const STAND_IN_DETECTOR: Record<string, { detector: string; label: string }> = {
  yunet: { detector: 'ssd-mobilenetv1-onnx', label: 'face-api SSD MobileNet (onnxruntime)' },
  ultraface: { detector: 'ssd-mobilenetv1-onnx', label: 'face-api SSD MobileNet (onnxruntime)' },
};

/** The breakers of one worker pool's pipelines, listed in /porchlight/metrics and /porchlight/health while the pool runs. */
export class ModelBreakers {
  private readonly breakers = new Map<string, { breaker: CircuitBreaker; untrack: () => void }>();
  private closed = false;

  /** `false`: no breaker (every task goes to the backend). */
  constructor(private readonly options: CircuitBreakerOptions | false = {}) {}

  /** The breaker of a pipeline (made at its first task); undefined when breakers are off. */
  breaker(stage: string): CircuitBreaker | undefined {
    if (this.options === false) return undefined;
    let entry = this.breakers.get(stage);
    if (!entry) {
      const breaker = new CircuitBreaker(stage, { ...MODEL_BREAKER, ...this.options });
      entry = { breaker, untrack: this.closed ? () => undefined : trackBreaker(breaker) };
      this.breakers.set(stage, entry);
    }
    return entry.breaker;
  }

  /**
   * Runs a detect or embed task through its pipeline's breaker. While the
   * breaker is open the task is not sent: a detect task goes to the stand-in
   * detector (its result's `fallbackWarning` says why), an embed task fails
   * at once with CIRCUIT_OPEN, naming the pipeline, its last error and the
   * next try.
   */
  async run<T>(task: DetectTask | EmbedTask, send: (task: DetectTask | EmbedTask) => Promise<T>): Promise<T> {
    const breaker = this.breaker(modelStage(task));
    if (!breaker) return send(task);
    try {
      return await breaker.run(() => send(task), { counts: isBackendFailure });
    } catch (err) {
      const standIn = STAND_IN_DETECTOR[task.detector];
      if (!isPorchlightError(err, 'CIRCUIT_OPEN') || task.type !== 'detect' || !standIn) throw err;
      const result = (await this.run({ ...task, detector: standIn.detector, detectorConfig: {} }, send)) as DetectTaskResult;
      return { ...result, fallbackWarning: `${standIn.label} meanwhile: ${err.message}` } as T;
    }
  }

  /** Stops listing the breakers (the pool closed). */
  close(): void {
    this.closed = true;
    for (const { untrack } of this.breakers.values()) untrack();
  }
}

const perPool = new WeakMap<WorkerPool, ModelBreakers>();

/**
 * The model breakers of a pool: made at its first task (with `options`, else
 * MODEL_BREAKER), no longer listed once the pool closes.
 */
export function modelBreakers(pool: WorkerPool, options?: CircuitBreakerOptions | false): ModelBreakers {
  let breakers = perPool.get(pool);
  if (!breakers) {
    const made = new ModelBreakers(options);
    pool.once('closed', () => made.close());
    perPool.set(pool, made);
    breakers = made;
  }
  return breakers;
}

/** Runs a detect or embed task on the pool through its pipeline's breaker (see ModelBreakers.run). */
export function runThroughBreaker<T>(pool: WorkerPool, task: DetectTask | EmbedTask, options: RunOptions = {}): Promise<T> {
  return modelBreakers(pool).run(task, (sent) => pool.run<T>(sent, options));
}
