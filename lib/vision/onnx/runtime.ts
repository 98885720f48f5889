import fs from 'node:fs';
import path from 'node:path';
import { PorchlightError, isPorchlightError } from '../../errors';
import { guardNativeCall } from './native-guard';

/**
 * ONNX Runtime sessions for the worker threads. Two runtimes run the same
 * models through the same API (onnxruntime-common):
 * - `onnxruntime-node`, native and 3-7x faster, an optional peer dependency:
 *   used when it is installed beside Porchlight (in the Node-RED user dir) and
 *   loads on this platform;
 * - `onnxruntime-web`, its WebAssembly build (SIMD, one thread), a regular
 *   dependency: pure WebAssembly, so it installs and runs wherever Node.js
 *   does, with nothing compiled or downloaded at install.
 * `PORCHLIGHT_ONNX_RUNTIME=node|web` forces one (benchmarks, tests). The
 * module is required lazily, in the worker threads that run models.
 */
export type Ort = typeof import('onnxruntime-web');
export type OrtSession = import('onnxruntime-web').InferenceSession;
export type OrtTensor = import('onnxruntime-web').Tensor;

/** Which ONNX Runtime a thread runs: the native one or its WebAssembly build. */
export type OrtRuntimeName = 'onnxruntime-node' | 'onnxruntime-web';

let ort: { runtime: Ort; name: OrtRuntimeName } | undefined;

function requireNative(): Ort {
  return require('onnxruntime-node') as Ort;
}

function requireWasm(): Ort {
  const runtime = require('onnxruntime-web') as Ort;
  // One WebAssembly thread per worker (the pool already spreads work over cores), no proxy worker.
  runtime.env.wasm.numThreads = 1;
  runtime.env.wasm.proxy = false;
  runtime.env.logLevel = 'error';
  return runtime;
}

/** The runtime this thread uses (loading it on first call). */
export function loadOrtRuntime(): { runtime: Ort; name: OrtRuntimeName } {
  if (ort) return ort;
  const forced = process.env.PORCHLIGHT_ONNX_RUNTIME;
  if (forced && forced !== 'node' && forced !== 'web') {
    throw new PorchlightError('MODEL_UNAVAILABLE', `PORCHLIGHT_ONNX_RUNTIME must be "node" or "web", not "${forced}"`);
  }
  let nativeError: Error | undefined;
  if (forced !== 'web') {
    try {
      ort = { runtime: requireNative(), name: 'onnxruntime-node' };
      return ort;
    } catch (err) {
      nativeError = err as Error;
      if (forced === 'node') {
        throw new PorchlightError('MODEL_UNAVAILABLE', `onnxruntime-node cannot load here (install it beside Porchlight: npm install onnxruntime-node): ${nativeError.message.split('\n')[0]}`);
      }
    }
  }
  try {
    ort = { runtime: requireWasm(), name: 'onnxruntime-web' };
    return ort;
  } catch (err) {
    const native = nativeError ? `; onnxruntime-node: ${nativeError.message.split('\n')[0]}` : '';
    throw new PorchlightError('MODEL_UNAVAILABLE', `no ONNX Runtime loads here (onnxruntime-web: ${(err as Error).message.split('\n')[0]}${native})`);
  }
}

export function loadOrt(): Ort {
  return loadOrtRuntime().runtime;
}

/** Which runtime this thread runs models on (loads it if needed). */
export function ortRuntimeName(): OrtRuntimeName {
  return loadOrtRuntime().name;
}

export interface SessionOptions {
  /** Threads inside one inference; 1 by default because the worker pool already spreads work over cores. */
  threads?: number;
}

/** A dimension as the model declares it: a number, or a name / -1 when it is dynamic. */
export type Dim = number | string;

export interface ModelIO {
  name: string;
  shape: Dim[];
}

/** A loaded model with what it declares about its inputs and outputs. */
export interface OnnxModel {
  /** The file it came from (or a label for models built in memory). */
  source: string;
  session: OrtSession;
  inputs: ModelIO[];
  /** In `session.outputNames` order: the order the model declares, which `run()` results do not keep. */
  outputs: ModelIO[];
}

const sessions = new Map<string, Promise<OnnxModel>>();

function ioOf(metadata: ReadonlyArray<unknown>, names: readonly string[]): ModelIO[] {
  return names.map((name, i) => {
    const meta = metadata[i] as { name?: string; shape?: Dim[] } | undefined;
    return { name, shape: meta?.shape ? [...meta.shape] : [] };
  });
}

async function openModel(model: string | Uint8Array, source: string, options: SessionOptions): Promise<OnnxModel> {
  const { runtime, name } = loadOrtRuntime();
  const sessionOptions = {
    executionProviders: [name === 'onnxruntime-web' ? 'wasm' : 'cpu'],
    intraOpNumThreads: Math.max(1, options.threads ?? 1),
    interOpNumThreads: 1,
    executionMode: 'sequential' as const,
    graphOptimizationLevel: 'all' as const,
    // Some detectors log hundreds of harmless warnings at the default level.
    logSeverityLevel: 3 as const,
  };
  let session: OrtSession;
  try {
    session = await guardNativeCall(() =>
      typeof model === 'string' ? runtime.InferenceSession.create(model, sessionOptions) : runtime.InferenceSession.create(model, sessionOptions),
    );
  } catch (err) {
    if (isPorchlightError(err, 'POOL_CLOSED')) throw err; // the thread is being stopped, the model is fine
    throw new PorchlightError('MODEL_UNAVAILABLE', `${source} is not a model onnxruntime can load: ${(err as Error).message.split('\n')[0]}`);
  }
  return {
    source,
    session,
    inputs: ioOf(session.inputMetadata, session.inputNames),
    outputs: ioOf(session.outputMetadata, session.outputNames),
  };
}

/** Opens a model file once per thread (per thread count); later calls share the session. */
export function openModelFile(modelPath: string, options: SessionOptions = {}): Promise<OnnxModel> {
  if (!modelPath) return Promise.reject(new PorchlightError('MODEL_UNAVAILABLE', 'no model file configured'));
  const resolved = path.resolve(modelPath);
  const key = `${resolved}#${options.threads ?? 1}`;
  let opening = sessions.get(key);
  if (!opening) {
    opening = (async () => {
      if (!fs.statSync(resolved, { throwIfNoEntry: false })?.isFile()) throw new PorchlightError('MODEL_UNAVAILABLE', `model file not found: ${resolved}`);
      // The native runtime reads the file itself; the WebAssembly one is handed its bytes.
      const source = loadOrtRuntime().name === 'onnxruntime-web' ? new Uint8Array(await fs.promises.readFile(resolved)) : resolved;
      return openModel(source, path.basename(resolved), options);
    })();
    opening.catch(() => sessions.delete(key));
    sessions.set(key, opening);
  }
  return opening;
}

/** Opens a model held in memory (graphs Porchlight builds itself). Not cached: the caller keeps it. */
export function openModelBytes(bytes: Uint8Array, label: string, options: SessionOptions = {}): Promise<OnnxModel> {
  return openModel(bytes, label, options);
}

export function formatShape(shape: readonly Dim[]): string {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? String(d) : '?')).join('x');
}

/**
 * Checks the model's single image input against what a strategy needs:
 * `expected` holds a number for a fixed dimension and `null` for one the
 * strategy can fill in (dynamic or fixed, either is fine).
 */
export function checkImageInput(model: OnnxModel, role: string, expected: Array<number | null>): ModelIO {
  if (model.inputs.length !== 1) {
    throw new PorchlightError('MODEL_UNAVAILABLE', `${model.source}: a ${role} takes one image input, this model has ${model.inputs.length} (${model.inputs.map((i) => i.name).join(', ')})`);
  }
  const input = model.inputs[0];
  const wanted = expected.map((d) => (d === null ? '?' : String(d))).join('x');
  const fits =
    input.shape.length === expected.length &&
    expected.every((d, i) => d === null || typeof input.shape[i] !== 'number' || input.shape[i] === d || input.shape[i] === -1);
  if (!fits) {
    throw new PorchlightError('MODEL_UNAVAILABLE', `${model.source}: a ${role} expects ${wanted}, got ${formatShape(input.shape)} (input "${input.name}")`);
  }
  return input;
}

/** A fixed dimension of the input, or undefined when the model leaves it open. */
export function fixedDim(io: ModelIO, index: number): number | undefined {
  const d = io.shape[index];
  return typeof d === 'number' && d > 0 ? d : undefined;
}

/** Runs a model on one input and returns its outputs in declared order. */
export async function runModel(model: OnnxModel, input: Float32Array, dims: number[]): Promise<OrtTensor[]> {
  const runtime = loadOrt();
  const feeds = { [model.inputs[0].name]: new runtime.Tensor('float32', input, dims) };
  const results = await guardNativeCall(() => model.session.run(feeds));
  return model.outputs.map((o) => results[o.name] as OrtTensor);
}

/** Releases every session this thread opened from files (tests, worker shutdown). */
export async function closeModelFiles(): Promise<void> {
  const open = [...sessions.values()];
  sessions.clear();
  for (const opening of open) {
    const model = await opening.catch(() => undefined);
    if (model) await guardNativeCall(() => model.session.release());
  }
}
