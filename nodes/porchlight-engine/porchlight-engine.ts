import path from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import { type ComponentHealth, registerHealthCheck } from '../../lib/metrics';
import { type EngineSelection, selectBackend, type WorkerPool } from '../../lib/engine';
import { registerAdminHttp } from '../admin-http';
import { parseEngineDef, selectionHealth, type EngineConfigNode } from '../shared/engine';

/** Config node: the vision engine shared by face-detect and face-recognize (backend, models, worker threads, queue, limits). */
export = function register(RED: NodeAPI): void {
  const userDir = RED.settings.userDir as string | undefined;

  function PorchlightEngineNode(this: EngineConfigNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    const settings = parseEngineDef(def);
    // Model paths in the dialog may be relative to the Node-RED user dir.
    const inUserDir = (file?: string) => (file && userDir ? path.resolve(userDir, file) : file);
    settings.models = {
      ...settings.models,
      detectorModel: inUserDir(settings.models?.detectorModel),
      recognizerModel: inUserDir(settings.models?.recognizerModel),
      userDir,
    };
    this.settings = settings;

    let chosen: Promise<EngineSelection> | undefined;
    let state: ComponentHealth = { ok: true, reason: 'not chosen yet: no vision node has asked' };
    this.selection = (pool: WorkerPool) => {
      chosen ??= selectBackend(pool, settings.backend ?? 'auto', settings.models).then(
        (selection) => {
          state = selectionHealth(selection);
          if (selection.fallback) this.warn(`vision engine ${selection.label}: ${selection.reason}`);
          else this.log(`vision engine ${selection.label}: ${selection.reason}`);
          return selection;
        },
        (err: Error) => {
          state = { ok: false, reason: err.message };
          this.error(`vision backend ${settings.backend} unavailable: ${err.message}`);
          chosen = undefined;
          throw err;
        },
      );
      return chosen;
    };
    const unregister = registerHealthCheck(`backend:${this.id}`, () => ({ ...state, requested: settings.backend }));
    this.on('close', () => unregister());
  }
  RED.nodes.registerType('porchlight-engine', PorchlightEngineNode as never);
  registerAdminHttp(RED);
};
