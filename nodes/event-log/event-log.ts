import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { closeLog, databaseHealth, DEFAULT_RETENTION, EventLog, handleLogMessage, type RetentionPolicy, type SharedLog, storageUse } from '../../lib/eventlog';
import { attachStructuredLog, structuredLogEnabled } from '../../lib/logging';
import { registerHealthCheck, watchStorage } from '../../lib/metrics';
import { flagSetting, NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { registerAdminHttp, registerEventReader } from '../admin-http';
import { dbConfig, type DbConfigNode, explainReadOnly } from '../shared/db';
import { busyStatus, errorStatus, fail, readyStatus, showStatus, warnStatus } from '../shared/status';
import { tellLogEvents, watchSharedLog } from './tell';

interface EventLogDef extends NodeDef {
  db?: string;
  /** The door recorded for events that name none (this Node-RED serves one door). */
  door?: string;
  /** With PostgreSQL: events at most waiting on this door's disk for the shared log. */
  maxBacklog?: string | number;
  keepUnknownDays?: string | number;
  keepKnownDays?: string | number;
  keepBlacklistedDays?: string | number;
  keepNoFaceDays?: string | number;
  keepOtherDays?: string | number;
  snapshotBudgetMb?: string | number;
  privacy?: boolean;
  sweepHours?: string | number;
}

const DEFAULTS = NODE_DEFAULTS['event-log'];

function retentionFromDef(def: EventLogDef): RetentionPolicy {
  return {
    maxAgeDays: {
      unknown: numberSetting(def.keepUnknownDays, DEFAULTS.keepUnknownDays),
      known: numberSetting(def.keepKnownDays, DEFAULTS.keepKnownDays),
      blacklisted: numberSetting(def.keepBlacklistedDays, DEFAULTS.keepBlacklistedDays),
      no_face: numberSetting(def.keepNoFaceDays, DEFAULTS.keepNoFaceDays),
      other: numberSetting(def.keepOtherDays, DEFAULTS.keepOtherDays),
    },
    snapshotBudgetBytes: numberSetting(def.snapshotBudgetMb, DEFAULTS.snapshotBudgetMb) * 2 ** 20,
    privacy: flagSetting(def.privacy, DEFAULTS.privacy),
    unfinishedAfterMs: DEFAULT_RETENTION.unfinishedAfterMs,
  };
}

/** Opens the log on the config node's database, registered with it (and its shared log), the admin API, metrics and health; `cleanups` undo that. */
async function openLog(RED: NodeAPI, node: Node, config: DbConfigNode, def: EventLogDef, cleanups: Array<() => void>, closing: () => boolean): Promise<{ log: EventLog; shared: SharedLog }> {
  const { file } = config.settings;
  const retention = retentionFromDef(def);
  const faceDb = await config.register(node);
  // Registered from here on: a failure gives the database back (the close handler deregisters only an opened log), closing it with its last user.
  try {
    const log = new EventLog({ db: faceDb.local, snapshotDir: faceDb.snapshotDir, retention, door: def.door });
    // The config node owns the replication into the shared log; this log registers with it.
    const shared = await config.database.registerLog(node, log, { maxBacklog: numberSetting(def.maxBacklog, DEFAULTS.maxBacklog) });
    cleanups.push(
      watchSharedLog(node, shared),
      registerEventReader(node.id, shared.reader),
      watchStorage(file, () => storageUse(file, log, retention.snapshotBudgetBytes)),
      registerHealthCheck(`database:${file}`, () => databaseHealth(file, log)),
    );
    tellLogEvents(node, log, closing);
    // One JSON line per event transition and error on stdout, for log shippers (settings.js porchlight.jsonLog or PORCHLIGHT_JSON_LOG=1).
    if (structuredLogEnabled(RED.settings as { porchlight?: { jsonLog?: unknown } })) cleanups.push(attachStructuredLog(log));
    const forget = (personId: number) => log.forgetPerson(personId).catch((err: Error) => node.warn(`could not forget person ${personId} in the event log: ${err.message}`));
    cleanups.push(faceDb.store.onChange((change) => change.type === 'person-removed' && forget(change.personId)));
    cleanups.push(log.startRetention(numberSetting(def.sweepHours, DEFAULTS.sweepHours) * 3_600_000 || DEFAULTS.sweepHours * 3_600_000));
    const events = log.repository.count();
    node.status(readyStatus(`ready · ${events} ${events === 1 ? 'event' : 'events'}`));
    return { log, shared };
  } catch (err) {
    await new Promise<void>((resolve) => config.deregister(node, resolve));
    throw err;
  }
}

/**
 * event-log: stores every doorbell event through its lifecycle in the face
 * DB's SQLite file, with an annotated snapshot; answers `msg.action` query /
 * export / sweep (lib/eventlog handleLogMessage). Output 1: query and export
 * results; output 2: each event once it is completed or failed, with `msg.eventLog`.
 */
export = function register(RED: NodeAPI): void {
  function EventLogNode(this: Node, def: EventLogDef) {
    RED.nodes.createNode(this, def);
    const cleanups: Array<() => void> = [];
    let closing = false;
    let config: DbConfigNode | undefined;
    this.status(busyStatus('opening database'));
    const opening = (async () => openLog(RED, this, (config = dbConfig(RED, def.db)), def, cleanups, () => closing))();
    opening.catch((err: Error) => {
      this.status(errorStatus(err));
      this.error(`event log unavailable: ${err.message}`);
      // Health says so too: no event can be stored.
      const file = config?.settings.file ?? '';
      if (!closing) cleanups.push(registerHealthCheck(`database:${file || this.id}`, () => ({ ok: false, file, reason: `the event log cannot open its database: ${err.message}` })));
    });

    this.on('input', (msg: NodeMessageInFlow & Record<string, unknown>, send, done) => {
      opening
        .then(({ log, shared }) => handleLogMessage(log, shared.reader, msg, { node: this.id }))
        .then(({ output, status }) => {
          if (output !== undefined) send(output === 0 ? [msg, null] : [null, msg]);
          if (status) showStatus(this, (status.tone === 'warn' ? warnStatus : readyStatus)(status.text), status.detail);
          done();
        })
        .catch((caught: Error) => fail(this, done, explainReadOnly(caught, config?.settings.file ?? ''), { quiet: closing }));
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      for (const cleanup of cleanups.splice(0)) cleanup();
      // Finish what is being written before the last user of the file closes it.
      opening
        .then(async ({ log }) => {
          for (const cleanup of cleanups.splice(0)) cleanup(); // what an opening that ended after the close started registered
          await config!.database.deregisterLog(this);
          for (const { level, text } of await closeLog(log)) this[level](text);
          await new Promise<void>((resolve) => config!.deregister(this, resolve));
        })
        .catch(() => undefined)
        .then(() => done());
    });
  }

  RED.nodes.registerType('porchlight-event-log', EventLogNode as never);
  registerAdminHttp(RED);
};
