import type { EventRepository } from './repository';
import type { SnapshotFolder } from './snapshot';
import { VERDICT_STATUSES, type VerdictStatus } from './types';

/** How long events live, how much disk their snapshots may take, and what is never kept. */
export interface RetentionPolicy {
  /** Days to keep an event, by verdict; `other` covers failed events without a verdict. 0 keeps forever. */
  maxAgeDays: Record<VerdictStatus | 'other', number>;
  /** Bytes that snapshots and thumbnails may take together; the oldest go first. 0 = no budget. */
  snapshotBudgetBytes: number;
  /** Keep no snapshot or face crop of a known person. */
  privacy: boolean;
  /** An event with no verdict this long after its press is marked failed (a verdict arriving later still completes it). */
  unfinishedAfterMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  maxAgeDays: { unknown: 7, known: 30, blacklisted: 365, no_face: 7, other: 30 },
  snapshotBudgetBytes: 500 * 1024 * 1024,
  privacy: false,
  // A burst is decided within seconds; two minutes leaves room for a long queue under a flood.
  unfinishedAfterMs: 2 * 60 * 1000,
};

/** Fails the events that never got a verdict (Node-RED stopped, or a node redeployed mid-event): an indexed UPDATE, cheap enough to run often. */
export function failUnfinishedEvents(repository: EventRepository, policy: RetentionPolicy, now: number): number {
  return repository.failUnfinished(
    now - policy.unfinishedAfterMs,
    now,
    `no verdict within ${Math.round(policy.unfinishedAfterMs / 1000)} s (Node-RED stopped or a node dropped the event)`,
  );
}

export interface SweepReport {
  eventsDeleted: number;
  snapshotsRemoved: number;
  cropsDropped: number;
  unfinishedFailed: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Rows per retention transaction: deleting 50 events with their faces takes a few milliseconds. */
export const RETENTION_BATCH = 50;

/** Gives the event loop a turn between batches, so a large sweep never holds Node-RED for long. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * One retention pass: unfinished events failed, expired events deleted per
 * verdict, known people's snapshots and crops dropped under the privacy
 * option, then the oldest snapshots removed until the budget holds. Work is
 * done in batches of `batchSize` events, each its own short transaction, with
 * the loop free in between.
 */
export async function sweepRetention(
  repository: EventRepository,
  folder: SnapshotFolder,
  policy: RetentionPolicy,
  now: number,
  options: { batchSize?: number; stopped?: () => boolean } = {},
): Promise<SweepReport> {
  const batchSize = options.batchSize ?? RETENTION_BATCH;
  // Checked between batches: a node closing does not wait for a long sweep; the next one goes on.
  const go = () => !options.stopped?.();
  const report: SweepReport = { eventsDeleted: 0, snapshotsRemoved: 0, cropsDropped: 0, unfinishedFailed: 0 };
  report.unfinishedFailed = failUnfinishedEvents(repository, policy, now);

  for (const verdict of [...VERDICT_STATUSES, null]) {
    const days = policy.maxAgeDays[verdict ?? 'other'];
    if (!(days > 0)) continue;
    while (go()) {
      const expired = repository.expired(verdict, now - days * DAY_MS, batchSize);
      if (expired.length === 0) break;
      report.eventsDeleted += repository.delete(expired.map((e) => e.id));
      await Promise.all(expired.filter((e) => e.hasSnapshot).map((e) => folder.remove(e.id)));
      await yieldToLoop();
    }
  }

  if (policy.privacy) {
    while (go()) {
      const ids = repository.knownSnapshots(batchSize);
      if (ids.length === 0) break;
      await removeSnapshots(repository, folder, ids);
      report.snapshotsRemoved += ids.length;
      await yieldToLoop();
    }
    while (go()) {
      const dropped = repository.dropKnownCrops(batchSize);
      report.cropsDropped += dropped;
      if (dropped < batchSize) break;
      await yieldToLoop();
    }
  }

  if (policy.snapshotBudgetBytes > 0) {
    let bytes = repository.snapshotBytes();
    while (bytes > policy.snapshotBudgetBytes && go()) {
      const oldest = repository.oldestSnapshots(batchSize);
      if (oldest.length === 0) break;
      const batch: string[] = [];
      for (const { id, bytes: size } of oldest) {
        if (bytes <= policy.snapshotBudgetBytes) break;
        batch.push(id);
        bytes -= size;
      }
      await removeSnapshots(repository, folder, batch);
      report.snapshotsRemoved += batch.length;
      await yieldToLoop();
    }
  }
  return report;
}

/** Clears the snapshots of these events in the DB, then deletes their files. */
export async function removeSnapshots(repository: EventRepository, folder: SnapshotFolder, ids: string[]): Promise<void> {
  repository.db.transaction(() => {
    for (const id of ids) repository.clearSnapshot(id);
  })();
  await Promise.all(ids.map((id) => folder.remove(id)));
}
