import fs from 'node:fs';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { databaseHealth, DEFAULT_RETENTION, EventLog, exportEvents, type ExportFormat, parseEventFilter, type RecordOutcome, type RetentionPolicy, type SweepReport } from '../../lib/eventlog';
import { recordFrame, recordOutcome, recordPress, registerHealthCheck, watchStorage, type FrameDetection } from '../../lib/metrics';
import { NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { dbConfig, explainReadOnly } from '../shared/db';
import { busyStatus, errorStatus, fail, readyStatus, showStatus, warnStatus } from '../shared/status';
import { registerAdminHttp, registerEventReader } from '../admin-http';
import { watchSharedLog } from './shared-log';
import { attachStructuredLog, structuredLogEnabled } from '../../lib/logging';

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

type Message = NodeMessageInFlow & Record<string, unknown>;

/** Why an event still waiting for its verdict is failed when the node closes. */
const UNFINISHED_AT_CLOSE = 'node closed/redeployed before the verdict';

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
    privacy: def.privacy === true,
    unfinishedAfterMs: DEFAULT_RETENTION.unfinishedAfterMs,
  };
}

function fileBytes(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Feeds the Prometheus counters from what the log just stored. */
function count(outcome: RecordOutcome, msg: Message): void {
  if (outcome.kind === 'press') recordPress();
  if (outcome.kind === 'failure') recordOutcome('failed');
  if (outcome.kind === 'verdict') {
    // Press to verdict (the verdict's own latencyMs counts from its first frame).
    const verdict = msg.verdict as { status: string; decidedAt?: number };
    recordOutcome(verdict.status, (verdict.decidedAt ?? Date.now()) - outcome.event.startedAt);
  }
  if (outcome.kind === 'frame' && Array.isArray(msg.faces)) recordFrame(msg.detection as FrameDetection | undefined);
}

function sweepText(report: SweepReport): string {
  const parts = [
    report.eventsDeleted && `${report.eventsDeleted} expired`,
    report.snapshotsRemoved && `${report.snapshotsRemoved} snapshots removed`,
    report.unfinishedFailed && `${report.unfinishedFailed} unfinished failed`,
  ].filter(Boolean);
  return parts.length ? `retention: ${parts.join(', ')}` : '';
}

/**
 * event-log: stores every doorbell event through its lifecycle in the face
 * DB's SQLite file, with an annotated snapshot; answers `msg.action` query /
 * export / sweep. Output 1: query and export results; output 2: each event
 * once it is completed or failed, with `msg.eventLog`.
 */
export = function register(RED: NodeAPI): void {
  function EventLogNode(this: Node, def: EventLogDef) {
    RED.nodes.createNode(this, def);
    const retention = retentionFromDef(def);
    const sweepMs = numberSetting(def.sweepHours, DEFAULTS.sweepHours) * 3_600_000 || DEFAULTS.sweepHours * 3_600_000;
    const cleanups: Array<() => void> = [];
    let closing = false;
    let dbFile = '';

    this.status(busyStatus('opening database'));
    const opening = (async () => {
      const config = dbConfig(RED, def.db);
      const { settings } = config;
      dbFile = settings.file;
      const faceDb = await config.register(this);
      const db = faceDb.local;
      const log = new EventLog({ db, snapshotDir: faceDb.snapshotDir, retention, door: def.door });
      // The config node owns the replication into the shared log; this log registers with it.
      const shared = await config.database.registerLog(this, log, { maxBacklog: numberSetting(def.maxBacklog, DEFAULTS.maxBacklog) });
      cleanups.push(
        watchSharedLog(this, shared),
        registerEventReader(this.id, shared.reader),
        watchStorage(settings.file, () => ({
          databaseBytes: fileBytes(settings.file) + fileBytes(`${settings.file}-wal`),
          snapshotBytes: log.repository.snapshotBytes(),
          snapshotBudgetBytes: retention.snapshotBudgetBytes,
        })),
        registerHealthCheck(`database:${settings.file}`, () => databaseHealth(settings.file, log)),
      );
      log.on('swept', (report: SweepReport) => {
        const text = sweepText(report);
        if (text && !closing) this.log(text);
      });
      log.on('sweep-failed', (err: Error) => this.warn(`retention sweep failed: ${err.message}`));
      log.on('refused-recorded', (event: { id: string }) => {
        if (!closing) showStatus(this, warnStatus(`failed ${event.id.slice(-6)} · database refused`), `event ${event.id} was recorded as failed after the database refused it`);
      });
      log.on('refused-dropped', (event: { id: string }, err?: Error) => {
        this.error(`event ${event.id} could not be kept for the database${err ? `: ${err.message}` : ': too many events waiting'}`);
      });
      // One JSON line per event transition and error on stdout, for log shippers (settings.js porchlight.jsonLog or PORCHLIGHT_JSON_LOG=1).
      if (structuredLogEnabled(RED.settings as { porchlight?: { jsonLog?: unknown } })) cleanups.push(attachStructuredLog(log));
      cleanups.push(
        faceDb.store.onChange((change) => {
          if (change.type !== 'person-removed') return;
          log.forgetPerson(change.personId).catch((err: Error) => this.warn(`could not forget person ${change.personId} in the event log: ${err.message}`));
        }),
      );
      cleanups.push(log.startRetention(sweepMs));
      const events = log.repository.count();
      this.status(readyStatus(`ready · ${events} ${events === 1 ? 'event' : 'events'}`));
      return { log, shared, config };
    })();
    opening.catch((err: Error) => {
      this.status(errorStatus(err));
      this.error(`event log unavailable: ${err.message}`);
      // Health says so too: no event can be stored.
      if (!closing) cleanups.push(registerHealthCheck(`database:${dbFile || this.id}`, () => ({ ok: false, file: dbFile, reason: `the event log cannot open its database: ${err.message}` })));
    });

    this.on('input', (msg: Message, send, done) => {
      opening
        .then(async ({ log, shared }) => {
          switch (msg.action) {
            case 'query': {
              const filter = parseEventFilter((msg.filter ?? msg.payload ?? {}) as Record<string, unknown>);
              msg.payload = await shared.reader.query(filter);
              send([msg, null]);
              return;
            }
            case 'export': {
              const format: ExportFormat = msg.format === 'json' ? 'json' : 'csv';
              const filter = parseEventFilter((msg.filter ?? msg.payload ?? {}) as Record<string, unknown>);
              msg.payload = await exportEvents(shared.reader, filter, format);
              msg.format = format;
              send([msg, null]);
              return;
            }
            case 'sweep':
              msg.payload = await log.sweep();
              send([msg, null]);
              return;
            case undefined:
            case null:
            case '':
              break;
            default:
              throw new PorchlightError('BAD_INPUT', `unknown msg.action "${String(msg.action)}": use query, export or sweep, or none to record the event`);
          }
          const outcome = await log.record(msg, { node: this.id });
          count(outcome, msg);
          if (outcome.kind === 'verdict' || outcome.kind === 'failure') {
            const stored = log.get(outcome.event.id)!;
            msg.eventLog = {
              id: stored.id,
              status: stored.status,
              verdict: stored.verdict,
              hasSnapshot: stored.hasSnapshot,
              ...(stored.hasSnapshot ? { snapshotUrl: `porchlight/events/${stored.id}/snapshot.jpg` } : {}),
            };
            send([null, msg]);
            // "known · 1a2b3c", "failed · 1a2b3c"; why a snapshot was not kept goes to the sidebar, once per reason.
            const noSnapshot = outcome.snapshot && !outcome.snapshot.written ? outcome.snapshot.reason : '';
            const what = stored.status === 'completed' && stored.verdict ? stored.verdict.replace('_', ' ') : stored.status;
            const shown = `${what} · ${stored.id.slice(-6)}`;
            if (stored.status === 'failed') showStatus(this, warnStatus(shown));
            // The event's own id left out of the detail: a full disk is told once, not at every event.
            else if (noSnapshot) showStatus(this, warnStatus(`${what} · no snapshot`), `no snapshot kept: ${noSnapshot.split(stored.id).join('<event>')}`);
            else showStatus(this, readyStatus(shown));
          }
        })
        .then(() => done())
        .catch((caught: Error) => fail(this, done, explainReadOnly(caught, dbFile), { quiet: closing }));
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      for (const cleanup of cleanups.splice(0)) cleanup();
      // Finish what is being written before the last user of the file closes it.
      opening
        .then(async ({ log, config }) => {
          for (const cleanup of cleanups.splice(0)) cleanup(); // what an opening that ended after the close started registered
          await config.database.deregisterLog(this);
          try {
            const { failed, unrecorded } = await log.stop({ failOpen: UNFINISHED_AT_CLOSE });
            if (failed) this.log(`${failed} unfinished event(s) recorded failed: ${UNFINISHED_AT_CLOSE}`);
            if (unrecorded) this.warn(`${unrecorded} event(s) refused by the database could not be recorded before closing`);
          } catch (err) {
            this.warn(`could not record the unfinished events as failed: ${(err as Error).message}`);
          }
          await new Promise<void>((resolve) => config.deregister(this, resolve));
        })
        .catch(() => undefined)
        .then(() => done());
    });
  }

  RED.nodes.registerType('porchlight-event-log', EventLogNode as never);
  registerAdminHttp(RED);
};
