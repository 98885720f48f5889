import path from 'node:path';
import { PorchlightError } from '../../errors';

/**
 * face-api on TensorFlow.js with the WebAssembly backend, an optional engine:
 * @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are optional peer
 * dependencies (the default engine runs face-api's networks on ONNX).
 * Everything comes from installed packages: the wasm binaries from @tensorflow/tfjs-backend-wasm
 * and the weights from @vladmandic/face-api's `model/` folder. No network.
 */
export type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');
export type Tf = typeof import('@tensorflow/tfjs');

export type FaceApiNet = 'ssdMobilenetv1' | 'tinyFaceDetector' | 'faceLandmark68Net' | 'faceRecognitionNet';

interface Runtime {
  faceapi: FaceApi;
  tf: Tf;
}

let runtime: Promise<Runtime> | undefined;

/** Whether the optional tfjs backend's packages are installed (resolvable from Porchlight). */
export function tfjsInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs');
    require.resolve('@tensorflow/tfjs-backend-wasm');
    return true;
  } catch {
    return false;
  }
}
const loadedNets = new Map<FaceApiNet, Promise<void>>();

/** Folder holding the weights shipped by @vladmandic/face-api. */
export function faceApiModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

async function init(): Promise<Runtime> {
  const tf: Tf = require('@tensorflow/tfjs');
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(wasmDir);
  // One wasm thread per worker: the pool already spreads work over cores.
  if (typeof wasm.setThreadsCount === 'function') wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const faceapi: FaceApi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  return { faceapi, tf };
}

export function faceApiRuntime(): Promise<Runtime> {
  runtime ??= init().catch((err) => {
    runtime = undefined;
    const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /@tensorflow\//.test((err as Error).message);
    if (missing) {
      // tfjs is an optional peer dependency: the default engine runs face-api's networks on ONNX instead.
      throw new PorchlightError('MODEL_UNAVAILABLE', 'the tfjs backend is not installed (optional: npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm in the Node-RED user dir)');
    }
    throw new PorchlightError('MODEL_UNAVAILABLE', `TensorFlow.js wasm backend failed to start: ${(err as Error).message}`);
  });
  return runtime;
}

/** Loads one of face-api's networks from disk, once per thread. */
export async function ensureNet(net: FaceApiNet): Promise<Runtime> {
  const rt = await faceApiRuntime();
  let loading = loadedNets.get(net);
  if (!loading) {
    loading = rt.faceapi.nets[net].loadFromDisk(faceApiModelDir()).catch((err: Error) => {
      loadedNets.delete(net);
      throw new PorchlightError('MODEL_UNAVAILABLE', `face-api ${net} weights failed to load: ${err.message}`);
    });
    loadedNets.set(net, loading);
  }
  await loading;
  return rt;
}
