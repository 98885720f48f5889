/* What the event-log node tells of its log, under itself and in the sidebar. */
import type { Node } from 'node-red';
import { type EventLog, type ReplicationStats, type SharedLog, sweepText, type SweepReport } from '../../lib/eventlog';
import { MAX_STATUS, readyStatus, showStatus, warnStatus } from '../shared/status';

/** Under the node: "shared log paused · 12 waiting" (the reason was logged when it went offline). */
function offlineText(stats: ReplicationStats): string {
  const head = stats.paused ? 'shared log paused' : 'shared log offline';
  const withBacklog = `${head} · ${stats.backlog} waiting`;
  return withBacklog.length <= MAX_STATUS ? withBacklog : head;
}

/**
 * Tells under the node and in the sidebar how its shared log fares (the
 * replication the porchlight-db config node runs): unreachable and how much
 * waits, back again, events refused or past the outbox bound. Returns the
 * function that stops telling (nothing to tell on SQLite alone).
 */
export function watchSharedLog(node: Node, { replicator }: SharedLog): () => void {
  if (!replicator) return () => undefined;
  let wasOffline = false;
  let toldOverflowed = 0;
  const onState = (stats: ReplicationStats) => {
    // The status has no room for it: events past the outbox bound are told in the sidebar, each time more are.
    if (stats.overflowed && stats.overflowed > toldOverflowed) {
      toldOverflowed = stats.overflowed;
      node.warn(`${stats.overflowed} events over the outbox bound will not reach the shared event log; they stay in this door's log`);
    }
    if (stats.state === 'offline') {
      if (!wasOffline) node.warn(`shared event log unreachable, buffering events on this door's disk: ${stats.lastError}`);
      wasOffline = true;
      node.status(warnStatus(offlineText(stats)));
    } else if (stats.state === 'online' && wasOffline) {
      wasOffline = false;
      node.log('shared event log reachable again: buffered events sent');
      node.status(readyStatus('shared log reachable again'));
    }
  };
  const onRejected = (eventId: string, err: Error) => {
    node.warn(`event ${eventId} was refused by the shared event log and stays only in this door's log: ${err.message}`);
  };
  const onForgetFailed = (personId: unknown, err: Error) => node.warn(`could not forget person ${String(personId)} in the shared event log: ${err.message}`);
  replicator.on('state', onState);
  replicator.on('rejected', onRejected);
  replicator.on('forget-failed', onForgetFailed);
  return () => {
    replicator.off('state', onState);
    replicator.off('rejected', onRejected);
    replicator.off('forget-failed', onForgetFailed);
  };
}

/** Tells in the node what the log does on its own: sweeps, and writes the database refused. */
export function tellLogEvents(node: Node, log: EventLog, closing: () => boolean): void {
  log.on('swept', (report: SweepReport) => {
    const text = sweepText(report);
    if (text && !closing()) node.log(text);
  });
  log.on('sweep-failed', (err: Error) => node.warn(`retention sweep failed: ${err.message}`));
  log.on('refused-recorded', (event: { id: string }) => {
    if (!closing()) showStatus(node, warnStatus(`failed ${event.id.slice(-6)} · database refused`), `event ${event.id} was recorded as failed after the database refused it`);
  });
  log.on('refused-dropped', (event: { id: string }, err?: Error) => node.error(`event ${event.id} could not be kept for the database${err ? `: ${err.message}` : ': too many events waiting'}`));
}
