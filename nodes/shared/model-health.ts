import type { Node } from 'node-red';
import { isPorchlightError } from '../../lib/errors';
import { registerHealthCheck } from '../../lib/metrics';

export interface ModelWatch {
  /** The node's models answered (the warm-up or a frame went through). */
  loaded(): void;
  /** The warm-up failed, or a frame failed because a model would not load. */
  failed(err: unknown): void;
}

/**
 * A vision node's models as `GET /porchlight/health` shows them, under
 * `models:<node id>`: down, with the error, when its warm-up failed or a frame
 * failed with MODEL_UNAVAILABLE (weights missing or unreadable, a model file
 * onnxruntime refuses) until one goes through again. The engine's selection
 * can succeed (its last resort, tfjs, is taken untested) while nothing can be
 * recognised: this is where that shows. Unregistered when the node closes.
 */
export function watchModels(node: Node, role: string): ModelWatch {
  let state: { ok: boolean; state: string; reason?: string } = { ok: true, state: 'loading' };
  const unregister = registerHealthCheck(`models:${node.id}`, () => ({ ...state, node: node.name || node.type, role }));
  node.on('close', () => unregister());
  return {
    loaded() {
      state = { ok: true, state: 'ready' };
    },
    failed(err: unknown) {
      const warmedUp = state.state !== 'loading';
      // After the warm-up, only a model that will not load counts: a bad image is the caller's problem.
      if (warmedUp && !(isPorchlightError(err) && err.code === 'MODEL_UNAVAILABLE')) return;
      state = { ok: false, state: 'failed', reason: `the ${role} models cannot load: ${err instanceof Error ? err.message : String(err)}` };
    },
  };
}
