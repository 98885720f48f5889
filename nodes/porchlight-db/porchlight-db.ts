import type { NodeAPI, NodeDef } from 'node-red';
import { parseDbDef, type DbConfigNode } from '../shared/db';
import { registerFacesApi } from './admin-api';
import { parseBackupDef, startBackupSchedule } from './backup-schedule';

/** Deployed config nodes by id, for the admin API (module-wide: routes registered twice still see them). */
const deployed = new Map<string, DbConfigNode>();

/**
 * Config node: the face DB (a SQLite file, or a PostgreSQL database shared by
 * many doors) and the event log's local file and snapshot folder, shared by
 * face-db, face-recognize and event-log. The DB is opened once per process
 * by its first user and closed with its last (see nodes/shared/db.ts). The
 * PostgreSQL password lives in Node-RED's credentials store, never in the flow.
 */
export = function register(RED: NodeAPI): void {
  function PorchlightDbNode(this: DbConfigNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    this.settings = parseDbDef(RED, def, (this as unknown as { credentials?: { password?: string } }).credentials);
    deployed.set(this.id, this);
    // Scheduled, verified backups (daily at the dialog's time, the newest `keep` kept).
    let stopBackups: (() => Promise<void>) | undefined;
    try {
      const backup = parseBackupDef(RED, def);
      if (backup) stopBackups = startBackupSchedule(this, this.settings, backup);
    } catch (err) {
      this.error(`backups not scheduled: ${(err as Error).message}`);
    }
    this.on('close', (done: () => void) => {
      deployed.delete(this.id);
      (stopBackups?.() ?? Promise.resolve()).then(done, done);
    });
  }
  RED.nodes.registerType('porchlight-db', PorchlightDbNode as never, { credentials: { password: { type: 'password' } } } as never);
  registerFacesApi(RED, deployed);
};
