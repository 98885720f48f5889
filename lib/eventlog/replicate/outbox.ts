import type Database from 'better-sqlite3';
import type { EventRepository, EventRow, FaceRow } from '../repository';
import type { SnapshotFolder } from '../snapshot';

/** An event row as it travels to the shared log: the local columns, JSON kept as text. */
export type ReplicaEvent = EventRow & { processing_at: number | null; data: string; metadata: string; updated_at: number };

export interface ReplicaPerson {
  event_id: string;
  person_id: string | null;
  name: string;
  list: string | null;
  distance: number | null;
  started_at: number;
  verdict: string;
}

/** A face row with its crop itself (the shared log gives it an id of its own). */
export type ReplicaFace = Omit<FaceRow, 'id' | 'has_crop'> & { event_id: string; crop: Buffer | null };

export interface ReplicaImages {
  event_id: string;
  snapshot: Buffer;
  thumbnail: Buffer | null;
}

/** One batch of the outbox: what to write (events in their latest state) and what to delete (events gone here). */
export interface OutboxBatch {
  entries: Array<{ seq: number; eventId: string }>;
  events: ReplicaEvent[];
  deleted: string[];
  people: ReplicaPerson[];
  faces: ReplicaFace[];
  images: ReplicaImages[];
}

/** A batch as one batch per entry (to find the one event the shared log refuses). */
export function splitBatch(batch: OutboxBatch): OutboxBatch[] {
  return batch.entries.map((entry) => {
    const mine = <T extends { event_id: string }>(rows: T[]) => rows.filter((row) => row.event_id === entry.eventId);
    return {
      entries: [entry],
      events: batch.events.filter((event) => event.id === entry.eventId),
      deleted: batch.deleted.filter((id) => id === entry.eventId),
      people: mine(batch.people),
      faces: mine(batch.faces),
      images: mine(batch.images),
    };
  });
}

export interface OutboxOptions {
  /** Events waiting at most; beyond it the newest are not queued (the oldest are kept) and counted. Default 10,000. */
  maxBacklog?: number;
  /** A snapshot and thumbnail larger than this together stay on this door's disk (the event travels without them). Default 1 MiB. */
  maxImageBytes?: number;
}

export const DEFAULT_MAX_BACKLOG = 10_000;
export const DEFAULT_MAX_IMAGE_BYTES = 2 ** 20;

const EVENT_COLUMNS =
  'id, trigger, door, status, verdict, people, started_at, processing_at, completed_at, processing_ms, frames_seen, error_message, snapshot_bytes, data, metadata, updated_at';

/**
 * The SQLite side of replication: the `event_outbox` the triggers of
 * migration 005 fill, read a batch at a time with everything an event
 * carries (people, faces with crops, snapshot files), and emptied once the
 * shared log has it. All statements are short; the caller pages.
 */
export class EventOutbox {
  readonly maxBacklog: number;
  readonly maxImageBytes: number;
  private readonly db: Database.Database;

  constructor(
    private readonly repository: EventRepository,
    private readonly snapshots: SnapshotFolder,
    options: OutboxOptions = {},
  ) {
    this.db = repository.db;
    this.maxBacklog = options.maxBacklog ?? DEFAULT_MAX_BACKLOG;
    this.maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  }

  private sql(text: string): Database.Statement {
    return this.repository.sql(text);
  }

  /**
   * Turns replication on. The first time, the events already in this log are
   * queued too (oldest first, up to the backlog bound), so a door's history
   * joins the shared log. Returns how many were queued.
   */
  enable(now: number): number {
    return this.db.transaction(() => {
      if (this.sql('INSERT OR IGNORE INTO event_replication (id, enabled_at) VALUES (1, ?)').run(now).changes === 0) return 0;
      return this.sql(`
        INSERT OR IGNORE INTO event_outbox (event_id, queued_at)
        SELECT id, updated_at FROM events WHERE status IN ('completed', 'failed') ORDER BY started_at LIMIT ?`).run(this.maxBacklog).changes;
    })();
  }

  /** Turns replication off (a door back on SQLite alone) and empties the outbox. */
  disable(): void {
    // Nothing to clear writes nothing: a read-only database file still opens for reading.
    const pending = this.sql('SELECT EXISTS (SELECT 1 FROM event_replication) OR EXISTS (SELECT 1 FROM event_outbox) AS pending').get() as { pending: number };
    if (!pending.pending) return;
    this.db.transaction(() => {
      this.sql('DELETE FROM event_replication').run();
      this.sql('DELETE FROM event_outbox').run();
    })();
  }

  backlog(): number {
    return (this.sql('SELECT count(*) AS n FROM event_outbox').get() as { n: number }).n;
  }

  /**
   * Keeps the backlog within its bound: the newest entries beyond it leave the
   * outbox (their events stay in this door's log, they just never reach the
   * shared one). Returns how many left.
   */
  trim(): number {
    const over = this.backlog() - this.maxBacklog;
    if (over <= 0) return 0;
    return this.sql('DELETE FROM event_outbox WHERE seq IN (SELECT seq FROM event_outbox ORDER BY seq DESC LIMIT ?)').run(over).changes;
  }

  /** The oldest `limit` entries with what they carry; snapshot files are read from disk (asynchronously). */
  async take(limit: number): Promise<OutboxBatch> {
    const entries = (this.sql('SELECT seq, event_id AS eventId FROM event_outbox ORDER BY seq LIMIT ?').all(limit)) as OutboxBatch['entries'];
    const batch: OutboxBatch = { entries, events: [], deleted: [], people: [], faces: [], images: [] };
    for (const { eventId } of entries) {
      const event = this.sql(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`).get(eventId) as ReplicaEvent | undefined;
      if (!event) {
        batch.deleted.push(eventId);
        continue;
      }
      batch.events.push(event);
      batch.people.push(...(this.sql('SELECT event_id, person_id, name, list, distance, started_at, verdict FROM event_people WHERE event_id = ?').all(eventId) as ReplicaPerson[]));
      batch.faces.push(...(this.sql(`
        SELECT event_id, frame_seq, x, y, width, height, score, quality, person_id, name, list, distance, confidence, crop
        FROM event_faces WHERE event_id = ? ORDER BY id`).all(eventId) as ReplicaFace[]));
    }
    for (const event of batch.events) {
      const images = await this.images(event);
      if (images) batch.images.push(images);
      else event.snapshot_bytes = null; // the shared log says "no snapshot" rather than offering one it cannot serve
    }
    return batch;
  }

  private async images(event: ReplicaEvent): Promise<ReplicaImages | undefined> {
    if (event.snapshot_bytes === null || event.snapshot_bytes > this.maxImageBytes) return undefined;
    const snapshot = await this.snapshots.read(event.id, 'snapshot');
    if (!snapshot) return undefined;
    return { event_id: event.id, snapshot, thumbnail: (await this.snapshots.read(event.id, 'thumbnail')) ?? null };
  }

  /** Removes the entries the shared log now holds; an entry re-queued meanwhile has a new seq and stays. */
  acknowledge(entries: OutboxBatch['entries']): void {
    const remove = this.sql('DELETE FROM event_outbox WHERE seq = ?');
    this.db.transaction(() => {
      for (const { seq } of entries) remove.run(seq);
    })();
  }
}
