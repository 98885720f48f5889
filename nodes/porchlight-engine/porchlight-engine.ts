import type { NodeAPI, NodeDef } from 'node-red';
import { parseEngineDef, type EngineConfigNode } from '../shared/engine';

/** Config node: the vision engine shared by face-detect and face-recognize (worker threads, queue, limits). */
export = function register(RED: NodeAPI): void {
  function PorchlightEngineNode(this: EngineConfigNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    this.settings = parseEngineDef(def);
  }
  RED.nodes.registerType('porchlight-engine', PorchlightEngineNode as never);
};
