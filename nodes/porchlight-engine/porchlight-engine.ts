import path from 'node:path';
import type { NodeAPI, NodeDef } from 'node-red';
import { registerHealthCheck } from '../../lib/metrics';
import { ARENA_LIMIT, wantsArenaLimit } from '../../lib/process';
import { registerAdminHttp } from '../admin-http';
import { Engine, parseEngineDef, type EngineConfigNode } from '../shared/engine';

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

    // The node owns its engine: the pool lease while users are registered, and the backend chosen on it.
    const engine = new Engine(settings, this);
    this.engine = engine;
    this.register = (user) => engine.register(user);
    this.deregister = (user, done) => engine.deregister(user, done);
    const unregister = registerHealthCheck(`backend:${this.id}`, () => ({ ...engine.health, requested: settings.backend }));
    this.on('close', () => unregister());
  }
  RED.nodes.registerType('porchlight-engine', PorchlightEngineNode as never);
  registerAdminHttp(RED);
  // Said once, as Node-RED loads the package: what it costs is measured in docs/RELIABILITY.md.
  if (wantsArenaLimit()) {
    RED.log.info(`porchlight: memory settles about 80 MB lower with MALLOC_ARENA_MAX=${ARENA_LIMIT} in Node-RED's environment (glibc's malloc keeps one arena per thread otherwise; see the README, "Memory")`);
  }
};
