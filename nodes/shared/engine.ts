import type { Node, NodeAPI, NodeDef } from 'node-red';
import { DEFAULT_MAX_PIXELS } from '../../lib/image/decode';
import { acquireSharedPool, type PoolLease, type PoolOptions } from '../../lib/workers/pool';

/** What the `porchlight-engine` config node holds. */
export interface EngineSettings extends PoolOptions {
  maxPixels: number;
}

export interface EngineConfigNode extends Node {
  settings: EngineSettings;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = { maxPixels: DEFAULT_MAX_PIXELS };

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
  return {
    threads: threads > 0 ? threads : undefined,
    maxQueue: Number.isFinite(maxQueue) && maxQueue >= 0 ? maxQueue : undefined,
    taskTimeoutMs: timeoutSeconds > 0 ? timeoutSeconds * 1000 : undefined,
    maxPixels: maxMegapixels > 0 ? maxMegapixels * 1e6 : DEFAULT_MAX_PIXELS,
  };
}
