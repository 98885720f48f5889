import type { Node, NodeAPI, NodeDef } from 'node-red';
import { DEFAULT_MAX_PIXELS } from '../../lib/image';
import { type ComponentHealth, registerHealthCheck } from '../../lib/metrics';
import { acquireSharedPool, BACKEND_CHOICES, type BackendChoice, type EngineModels, type EngineSelection, type PoolLease, type PoolOptions, selectBackend, type WorkerPool } from '../../lib/engine';

/** What the `porchlight-engine` config node holds. */
export interface EngineSettings extends PoolOptions {
  maxPixels: number;
  /** `auto` (default): ONNX when its models load and pass a self-test, else tfjs. */
  backend?: BackendChoice;
  models?: EngineModels;
}

export interface EngineConfigNode extends Node {
  settings: EngineSettings;
  /** The backend and models in use; chosen (with the ONNX self-test) on first call, then remembered. */
  selection(pool: WorkerPool): Promise<EngineSelection>;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = { maxPixels: DEFAULT_MAX_PIXELS, backend: 'auto' };

/** A vision node's detector setting that means "whatever the engine selected". */
export const ENGINE_CHOICE = 'engine';

/** What `/porchlight/health` shows of an engine's selection: the pipeline in force and why. */
export function selectionHealth(selection: EngineSelection): ComponentHealth {
  return { ok: true, backend: selection.backend, pipeline: selection.label, reason: selection.reason };
}

let defaultSelection: Promise<EngineSelection> | undefined;
let defaultHealth: ComponentHealth = { ok: true, reason: 'not chosen yet: no vision node has asked' };
/** Vision nodes using the default engine; `backend:default` is in the health report while there are any. */
const defaultUsers = new Set<Node>();
let unregisterDefaultHealth: (() => void) | undefined;

function watchDefaultEngine(node: Node): void {
  if (defaultUsers.has(node)) return;
  defaultUsers.add(node);
  unregisterDefaultHealth ??= registerHealthCheck('backend:default', () => ({ ...defaultHealth, requested: 'auto' }));
  node.on('close', () => {
    defaultUsers.delete(node);
    if (defaultUsers.size === 0) {
      unregisterDefaultHealth?.();
      unregisterDefaultHealth = undefined;
    }
  });
}

/**
 * The detector and recognizer a vision node should name, with the reason for
 * its status: from the engine config node it points at, or `auto` (YuNet +
 * MobileFaceNet bundled in the package) when it points at none.
 */
export function engineSelection(RED: NodeAPI, engineId: string | undefined, pool: WorkerPool, node?: Node): Promise<EngineSelection> {
  const engine = engineId ? (RED.nodes.getNode(engineId) as EngineConfigNode | null) : null;
  if (engine) return engine.selection(pool);
  if (node) watchDefaultEngine(node);
  defaultSelection ??= selectBackend(pool, 'auto', { userDir: RED.settings.userDir as string | undefined }).then(
    (selection) => {
      defaultHealth = selectionHealth(selection);
      return selection;
    },
    (err: Error) => {
      defaultHealth = { ok: false, reason: err.message };
      defaultSelection = undefined;
      throw err;
    },
  );
  return defaultSelection;
}

/** Reads the engine settings a node points at (or the defaults when it points at none). */
export function engineSettings(RED: NodeAPI, engineId: string | undefined): EngineSettings {
  const engine = engineId ? (RED.nodes.getNode(engineId) as EngineConfigNode | null) : null;
  return engine?.settings ?? DEFAULT_ENGINE_SETTINGS;
}

/** A lease on the process-wide worker pool, released when the node closes. */
export function leasePool(node: Node, settings: EngineSettings): PoolLease {
  const lease = acquireSharedPool(settings);
  node.on('close', (_removed: boolean, done: () => void) => {
    lease.release().then(done, done);
  });
  return lease;
}

export function parseEngineDef(def: NodeDef & Record<string, unknown>): EngineSettings {
  const threads = Number(def.threads);
  const maxQueue = Number(def.maxQueue);
  const timeoutSeconds = Number(def.taskTimeout);
  const maxMegapixels = Number(def.maxMegapixels);
  const backend = BACKEND_CHOICES.includes(def.backend as BackendChoice) ? (def.backend as BackendChoice) : 'auto';
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  return {
    backend,
    models: {
      detectorModel: text(def.detectorModel),
      detectorKind: def.detectorKind === 'ultraface' || def.detectorKind === 'faceapi' ? def.detectorKind : 'yunet',
      recognizerModel: text(def.recognizerModel),
    },
    threads: threads > 0 ? threads : undefined,
    maxQueue: Number.isFinite(maxQueue) && maxQueue >= 0 ? maxQueue : undefined,
    taskTimeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
    maxPixels: maxMegapixels > 0 ? maxMegapixels * 1e6 : DEFAULT_MAX_PIXELS,
  };
}
