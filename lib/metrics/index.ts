import fs from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { peekSharedPool, type PoolStats, type WorkerPool } from '../workers/pool';
import { registerRuntimeMetrics } from './runtime';

/**
 * Porchlight's Prometheus metrics, in a registry of their own (not
 * prom-client's global one, which other Node-RED nodes may fill). Counters
 * fed by nodes are plain prom-client counters; the worker pool's figures are
 * read from the shared pool when scraped.
 */
export const registry = new Registry();
const registers = [registry];
registerRuntimeMetrics(registry);

const presses = new Counter({ name: 'porchlight_presses_total', help: 'Doorbell presses (events created) recorded by the event log.', registers });

const events = new Counter({
  name: 'porchlight_events_total',
  help: 'Events finished, by verdict (known, unknown, blacklisted, no_face; failed for events that failed).',
  labelNames: ['verdict'] as const,
  registers,
});

const framesProcessed = new Counter({
  name: 'porchlight_frames_processed_total',
  help: 'Camera frames of events that were searched for faces and reached the event log.',
  registers,
});

/** A histogram of seconds in Porchlight's registry. */
function seconds(name: string, help: string, buckets: number[]): Histogram {
  return new Histogram({ name, help, buckets, registers });
}

/** What one frame's work on a worker thread takes, from a fast machine to a slow Pi. */
const WORKER_RUN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2];

const triggerToVerdict = seconds('porchlight_trigger_to_verdict_seconds', 'Time from the doorbell press to the verdict.', [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10]);

const detection = seconds(
  'porchlight_detection_seconds',
  "Face detection time per frame on its worker thread, decoding included (the queue wait is porchlight_detection_wait_seconds).",
  WORKER_RUN_BUCKETS,
);

const detectionWait = seconds(
  'porchlight_detection_wait_seconds',
  "Time a frame's face detection spent outside its worker's run: waiting in the pool's queue, and handed to the thread and back.",
  [0.001, ...WORKER_RUN_BUCKETS, 6.4],
);

const embedding = seconds(
  'porchlight_embedding_seconds',
  'Face embedding time per frame on its worker thread (landmarks, alignment and descriptors of its faces).',
  WORKER_RUN_BUCKETS,
);

/**
 * A counter that mirrors a cumulative figure of the shared pool. A redeploy
 * can replace the pool (its figures restart at 0), so the counter adds the
 * growth since the last scrape of the same pool and stays monotonic.
 */
function poolCounter(name: string, help: string, read: (stats: PoolStats) => number): void {
  let seen: { pool: WorkerPool; value: number } | undefined;
  new Counter({
    name,
    help,
    registers,
    collect() {
      const pool = peekSharedPool();
      if (!pool) return;
      const value = read(pool.stats());
      const previous = seen?.pool === pool ? seen.value : 0;
      if (value > previous) this.inc(value - previous);
      seen = { pool, value };
    },
  });
}

poolCounter('porchlight_frames_dropped_total', 'Worker tasks (mostly camera frames) dropped or rejected because the queue was full.', (s) => s.dropped + s.rejected);
poolCounter('porchlight_worker_restarts_total', 'Worker threads replaced after a crash or a task timeout.', (s) => s.crashes + s.timeouts);
poolCounter('porchlight_worker_tasks_total', 'Worker tasks finished (completed or failed with an error of their own).', (s) => s.completed + s.failed);

new Gauge({
  name: 'porchlight_queue_depth',
  help: 'Tasks waiting for a worker thread.',
  registers,
  collect() {
    this.set(peekSharedPool()?.stats().queued ?? 0);
  },
});

new Gauge({
  name: 'porchlight_workers',
  help: 'Worker threads in the shared pool (busy / this = utilisation).',
  registers,
  collect() {
    this.set(peekSharedPool()?.stats().threads ?? 0);
  },
});

new Gauge({
  name: 'porchlight_workers_busy',
  help: 'Worker threads running a task.',
  registers,
  collect() {
    this.set(peekSharedPool()?.stats().running ?? 0);
  },
});

/** Sizes of the databases and snapshot folders in use, by file; providers come and go with the nodes. */
interface StorageStats {
  databaseBytes: number;
  snapshotBytes: number;
  /** The event log's snapshot budget (retention), when it has one. */
  snapshotBudgetBytes?: number;
}
const storageProviders = new Map<string, () => StorageStats>();

/**
 * A metric by file whose values are read from `providers` at each scrape (a
 * counter is reset and set to the provider's running total, so it restarts
 * with the node); `undefined` from `read` leaves that file without a sample.
 */
function perFileMetric<T>(kind: typeof Gauge | typeof Counter, providers: Map<string, () => T>, name: string, help: string, read: (stats: T, file: string) => number | undefined): void {
  new kind({
    name,
    help,
    labelNames: ['file'] as const,
    registers,
    collect() {
      this.reset();
      for (const [file, provider] of providers) {
        const value = read(provider(), file);
        if (value === undefined) continue;
        if (this instanceof Gauge) this.set({ file }, value);
        else this.inc({ file }, value);
      }
    },
  });
}

perFileMetric(Gauge, storageProviders, 'porchlight_db_size_bytes', 'Size of the SQLite database (main file and WAL).', (s) => s.databaseBytes);
perFileMetric(Gauge, storageProviders, 'porchlight_snapshot_bytes', 'Bytes of event snapshots and thumbnails on disk.', (s) => s.snapshotBytes);
perFileMetric(Gauge, storageProviders, 'porchlight_snapshot_budget_bytes', 'The snapshot budget of the event log\'s retention (0: none).', (s) => s.snapshotBudgetBytes ?? 0);

/** Free and total bytes of the file system holding each database (statfs of its folder; no sample if it cannot be read). */
function fileSystemGauge(name: string, help: string, read: (stats: fs.StatsFs) => number): void {
  perFileMetric(Gauge, storageProviders, name, help, (_stats, file) => {
    try {
      return read(fs.statfsSync(path.dirname(file)));
    } catch {
      return undefined; // the folder went away with its node
    }
  });
}

fileSystemGauge('porchlight_disk_free_bytes', 'Bytes free to unprivileged users on the file system holding the database.', (s) => s.bavail * s.bsize);
fileSystemGauge('porchlight_disk_size_bytes', 'Size in bytes of the file system holding the database.', (s) => s.blocks * s.bsize);

export function recordPress(): void {
  presses.inc();
}

/** A finished event: its verdict (or `failed`) and, for a verdict, the press-to-verdict time. */
export function recordOutcome(verdict: string, latencyMs?: number): void {
  events.inc({ verdict });
  if (isDuration(latencyMs)) triggerToVerdict.observe(latencyMs / 1000);
}

const isDuration = (ms: unknown): ms is number => typeof ms === 'number' && Number.isFinite(ms) && ms >= 0;

/** What face-detect reports of a frame's detection (`msg.detection`): the worker's own run time, and the wait around it. */
export interface FrameDetection {
  timings?: { totalMs?: number };
  waitMs?: number;
}

/** A frame that went through face detection: its run time on the worker and its wait for one, apart. */
export function recordFrame(detected?: FrameDetection): void {
  framesProcessed.inc();
  const runMs = detected?.timings?.totalMs;
  if (isDuration(runMs)) detection.observe(runMs / 1000);
  if (isDuration(detected?.waitMs)) detectionWait.observe(detected.waitMs / 1000);
}

/** Each door's replication into the shared event log, by local database file; providers come and go with the nodes. */
const replicationProviders = new Map<string, () => { backlog: number; replicated: number; overflowed: number }>();

perFileMetric(Gauge, replicationProviders, 'porchlight_event_backlog', 'Events waiting in this door\'s outbox for the shared PostgreSQL log.', (s) => s.backlog);
perFileMetric(Counter, replicationProviders, 'porchlight_events_replicated_total', 'Events copied to (or deleted from) the shared PostgreSQL log since replication started (the last deploy).', (s) => s.replicated);
perFileMetric(Counter, replicationProviders, 'porchlight_events_overflowed_total', 'Events that never reached the shared log because the backlog was over its bound (they stay in the door\'s own log).', (s) => s.overflowed);

/** Reports a database file's replication at each scrape until the returned function is called. */
export function watchReplication(file: string, read: () => { backlog: number; replicated: number; overflowed: number }): () => void {
  return provide(replicationProviders, file, read);
}

/** Puts `read` under `key` until the returned function is called (a newer provider under the same key stays). */
function provide<T>(providers: Map<string, T>, key: string, read: T): () => void {
  providers.set(key, read);
  return () => {
    if (providers.get(key) === read) providers.delete(key);
  };
}

/** Scheduled backups by database file (nodes/porchlight-db/backup-schedule.ts); providers come and go with the config nodes. */
const backupProviders = new Map<string, () => { lastSuccessAt?: number; failures: number; lastBytes?: number }>();

perFileMetric(Gauge, backupProviders, 'porchlight_backup_last_success_timestamp_seconds', 'When the last scheduled backup was written and verified (Unix time; 0: none yet).', (s) => (s.lastSuccessAt ?? 0) / 1000);
perFileMetric(Gauge, backupProviders, 'porchlight_backup_size_bytes', 'Size of the last verified backup.', (s) => s.lastBytes);
perFileMetric(Counter, backupProviders, 'porchlight_backup_failures_total', 'Scheduled backups that failed (copy or verification) since the schedule started (the last deploy).', (s) => s.failures);

/** Reports a database's backup schedule at each scrape until the returned function is called. */
export function watchBackups(file: string, read: () => { lastSuccessAt?: number; failures: number; lastBytes?: number }): () => void {
  return provide(backupProviders, file, read);
}

/** The embedding time of one frame on its worker (`timings.embedMs` of an embed task), reported by face-recognize. */
export function recordEmbedding(ms: number): void {
  if (isDuration(ms)) embedding.observe(ms / 1000);
}

/** Reports a database's size at each scrape until the returned function is called. */
export function watchStorage(file: string, read: () => StorageStats): () => void {
  return provide(storageProviders, file, read);
}

export const metricsContentType = registry.contentType;

export function metricsText(): Promise<string> {
  return registry.metrics();
}
export { type ComponentHealth, healthReport, registerHealthCheck } from './health';
