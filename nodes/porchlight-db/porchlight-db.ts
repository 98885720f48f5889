import type { NodeAPI, NodeDef } from 'node-red';
import { parseDbDef, type DbConfigNode } from '../shared/db';
import { registerFacesApi } from './admin-api';

/** Deployed config nodes by id, for the admin API (module-wide: routes registered twice still see them). */
const deployed = new Map<string, DbConfigNode>();

/**
 * Config node: the face DB file (and the event log's snapshot folder) shared
 * by face-db, face-recognize and event-log. The file is opened once per
 * process by its first user and closed with its last (see nodes/shared/db.ts).
 */
export = function register(RED: NodeAPI): void {
  function PorchlightDbNode(this: DbConfigNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    this.settings = parseDbDef(RED, def);
    deployed.set(this.id, this);
    this.on('close', () => {
      deployed.delete(this.id);
    });
  }
  RED.nodes.registerType('porchlight-db', PorchlightDbNode as never);
  registerFacesApi(RED, deployed);
};
