import { PorchlightError } from '../errors';
import { recordFrame, recordOutcome, recordPress, type FrameDetection } from '../metrics';
import type { EventLog, RecordOutcome } from './event-log';
import { exportEvents, type ExportFormat } from './export';
import { parseEventFilter } from './filter';
import type { EventReader } from './reader';
import type { SweepReport } from './retention';
import type { EventDetail } from './types';

/** What the event-log node does with a message: the log's part, without Node-RED. */

type Message = Record<string, unknown>;

/** Why an event still waiting for its verdict is failed when the log closes (a redeploy). */
export const UNFINISHED_AT_CLOSE = 'node closed/redeployed before the verdict';

/** What the node shows under itself: green or yellow, the short text, and the detail for the sidebar. */
export interface LogStatus {
  tone: 'ready' | 'warn';
  text: string;
  detail?: string;
}

/** What became of one message. */
export interface LogReply {
  /** The output the message leaves by: 0 for an answer (query, export, sweep), 1 for a finished event; none while an event is under way. */
  output?: 0 | 1;
  /** What to show for a finished event. */
  status?: LogStatus;
}

/** What `msg.eventLog` says of a finished event (completed or failed), with the dashboard's snapshot path when one was kept. */
export function eventLogSummary(stored: EventDetail): Record<string, unknown> {
  return {
    id: stored.id,
    status: stored.status,
    verdict: stored.verdict,
    hasSnapshot: stored.hasSnapshot,
    ...(stored.hasSnapshot ? { snapshotUrl: `porchlight/events/${stored.id}/snapshot.jpg` } : {}),
  };
}

/**
 * "known · 1a2b3c", "failed · 1a2b3c" (yellow), or "known · no snapshot" with
 * why not as the detail: the event's own id left out of it, so that a full
 * disk is told once, not at every event.
 */
export function finishedStatus(stored: EventDetail, outcome: RecordOutcome): LogStatus {
  const noSnapshot = outcome.snapshot && !outcome.snapshot.written ? outcome.snapshot.reason : '';
  const what = stored.status === 'completed' && stored.verdict ? stored.verdict.replace('_', ' ') : stored.status;
  const shown = `${what} · ${stored.id.slice(-6)}`;
  if (stored.status === 'failed') return { tone: 'warn', text: shown };
  if (noSnapshot) return { tone: 'warn', text: `${what} · no snapshot`, detail: `no snapshot kept: ${noSnapshot.split(stored.id).join('<event>')}` };
  return { tone: 'ready', text: shown };
}

/** Feeds the Prometheus counters from what the log just stored. */
export function countOutcome(outcome: RecordOutcome, msg: Message): void {
  if (outcome.kind === 'press') recordPress();
  if (outcome.kind === 'failure') recordOutcome('failed');
  if (outcome.kind === 'verdict') {
    // Press to verdict (the verdict's own latencyMs counts from its first frame).
    const verdict = msg.verdict as { status: string; decidedAt?: number };
    recordOutcome(verdict.status, (verdict.decidedAt ?? Date.now()) - outcome.event.startedAt);
  }
  if (outcome.kind === 'frame' && Array.isArray(msg.faces)) recordFrame(msg.detection as FrameDetection | undefined);
}

/** `msg.action` query, export or sweep, answered in `msg.payload` (read through `reader`: the shared log with PostgreSQL); false for none (an event to record). */
async function answerAction(log: EventLog, reader: EventReader, msg: Message): Promise<boolean> {
  const filter = () => parseEventFilter((msg.filter ?? msg.payload ?? {}) as Record<string, unknown>);
  switch (msg.action) {
    case 'query':
      msg.payload = await reader.query(filter());
      return true;
    case 'export': {
      const format: ExportFormat = msg.format === 'json' ? 'json' : 'csv';
      msg.payload = await exportEvents(reader, filter(), format);
      msg.format = format;
      return true;
    }
    case 'sweep':
      msg.payload = await log.sweep();
      return true;
    case undefined:
    case null:
    case '':
      return false;
    default:
      throw new PorchlightError('BAD_INPUT', `unknown msg.action "${String(msg.action)}": use query, export or sweep, or none to record the event`);
  }
}

/**
 * One message into the log: an action answered, or the event's next step
 * recorded (counted in the metrics). A finished event gets `msg.eventLog`
 * and leaves by output 1, with the status to show.
 */
export async function handleLogMessage(log: EventLog, reader: EventReader, msg: Message, metadata: Record<string, unknown>): Promise<LogReply> {
  if (await answerAction(log, reader, msg)) return { output: 0 };
  const outcome = await log.record(msg, metadata);
  countOutcome(outcome, msg);
  if (outcome.kind !== 'verdict' && outcome.kind !== 'failure') return {};
  const stored = log.get(outcome.event.id)!;
  msg.eventLog = eventLogSummary(stored);
  return { output: 1, status: finishedStatus(stored, outcome) };
}

/** What a retention sweep did, in a line for the node's log ('' when it did nothing). */
export function sweepText(report: SweepReport): string {
  const parts = [
    report.eventsDeleted && `${report.eventsDeleted} expired`,
    report.snapshotsRemoved && `${report.snapshotsRemoved} snapshots removed`,
    report.unfinishedFailed && `${report.unfinishedFailed} unfinished failed`,
  ].filter(Boolean);
  return parts.length ? `retention: ${parts.join(', ')}` : '';
}

/**
 * Closes the log for a redeploy: waits for what is being written and records
 * the unfinished events as failed. Returns the lines to tell (log or warn),
 * never throws.
 */
export async function closeLog(log: EventLog): Promise<Array<{ level: 'log' | 'warn'; text: string }>> {
  try {
    const { failed, unrecorded } = await log.stop({ failOpen: UNFINISHED_AT_CLOSE });
    return [
      ...(failed ? [{ level: 'log' as const, text: `${failed} unfinished event(s) recorded failed: ${UNFINISHED_AT_CLOSE}` }] : []),
      ...(unrecorded ? [{ level: 'warn' as const, text: `${unrecorded} event(s) refused by the database could not be recorded before closing` }] : []),
    ];
  } catch (err) {
    return [{ level: 'warn', text: `could not record the unfinished events as failed: ${(err as Error).message}` }];
  }
}
