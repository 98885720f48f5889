import type { NodeAPI, NodeDef } from 'node-red';
import { registerAdminHttp } from '../admin-http';
import { parseDbDef, PorchlightDb, type DbConfigNode } from '../shared/db';
import { parseBackupDef, startBackupSchedule } from './backup-schedule';

/**
 * Config node: the Porchlight database (a SQLite file, or a PostgreSQL database shared by
 * many doors) and the event log's local file and snapshot folder, shared by
 * face-db, face-recognize and event-log. The DB is opened once per process
 * by its first user and closed with its last (see nodes/shared/db.ts). The
 * PostgreSQL password lives in Node-RED's credentials store, never in the flow.
 */
export = function register(RED: NodeAPI): void {
  function PorchlightDbNode(this: DbConfigNode, def: NodeDef & Record<string, unknown>) {
    RED.nodes.createNode(this, def);
    this.settings = parseDbDef(RED, def, (this as unknown as { credentials?: { password?: string } }).credentials);
    // The node owns its database: open while users (nodes, admin requests, a backup run) are registered.
    const database = new PorchlightDb(this.settings);
    this.database = database;
    this.register = (user) => database.register(user);
    this.deregister = (user, done) => database.deregister(user, done);
    // Scheduled, verified backups (daily at the dialog's time, the newest `keep` kept).
    let stopBackups: (() => Promise<void>) | undefined;
    try {
      const backup = parseBackupDef(RED, def);
      if (backup) stopBackups = startBackupSchedule(this, database, backup);
    } catch (err) {
      this.error(`backups not scheduled: ${(err as Error).message}`);
    }
    this.on('close', (done: () => void) => {
      (stopBackups?.() ?? Promise.resolve()).then(done, done);
    });
  }
  RED.nodes.registerType('porchlight-db', PorchlightDbNode as never, { credentials: { password: { type: 'password' } } } as never);
  registerAdminHttp(RED);
};
