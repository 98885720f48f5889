import type Database from 'better-sqlite3';
import { statementCache } from '../store/statement-cache';
import type { Box } from '../image/types';
import type { DoorbellEvent } from '../events/event';
import { notifyEventsDeleted } from './deletions';
import { forgottenName, redactPersonJson } from './redact';
import type {
  EventDetail,
  EventFilter,
  EventPage,
  EventStatus,
  EventSummary,
  StoredFace,
  Verdict,
  VerdictPerson,
  VerdictStatus,
} from './types';

/** A face row to store with a completed event. */
export interface FaceRecord {
  frameSeq?: number | null;
  box: Box;
  score?: number | null;
  quality?: number | null;
  personId?: string | number | null;
  name?: string | null;
  list?: string | null;
  distance?: number | null;
  confidence?: number | null;
  crop?: Uint8Array | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;
const MAX_ERROR_TEXT = 2000;
export const MAX_DOOR_LENGTH = 100;

export interface EventRow {
  id: string;
  trigger: string;
  door: string | null;
  status: EventStatus;
  verdict: VerdictStatus | null;
  people: string;
  started_at: number;
  completed_at: number | null;
  processing_ms: number | null;
  frames_seen: number;
  error_message: string | null;
  snapshot_bytes: number | null;
  data: string;
  metadata: string;
}

export interface FaceRow {
  id: number;
  frame_seq: number | null;
  x: number;
  y: number;
  width: number;
  height: number;
  score: number | null;
  quality: number | null;
  person_id: string | null;
  name: string | null;
  list: string | null;
  distance: number | null;
  confidence: number | null;
  has_crop: number;
}

export const SUMMARY_COLUMNS =
  'id, trigger, door, status, verdict, people, started_at, completed_at, processing_ms, frames_seen, error_message, snapshot_bytes';

export function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function toSummary(row: EventRow): EventSummary {
  return {
    id: row.id,
    trigger: row.trigger,
    door: row.door,
    status: row.status,
    verdict: row.verdict,
    people: parseJson<VerdictPerson[]>(row.people, []),
    startedAt: row.started_at,
    completedAt: row.completed_at,
    processingMs: row.processing_ms,
    framesSeen: row.frames_seen,
    errorMessage: row.error_message,
    hasSnapshot: row.snapshot_bytes !== null,
  };
}

export function toStoredFace(row: FaceRow): StoredFace {
  return {
    id: row.id,
    frameSeq: row.frame_seq,
    box: { x: row.x, y: row.y, width: row.width, height: row.height },
    score: row.score,
    quality: row.quality,
    personId: row.person_id,
    name: row.name,
    list: row.list,
    distance: row.distance,
    confidence: row.confidence,
    hasCrop: row.has_crop === 1,
  };
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The door an event names in its source (`msg.event.source.door`), or null. */
export function doorOf(event: DoorbellEvent): string | null {
  const door = event.source?.door;
  return typeof door === 'string' && door.trim() ? door.trim().slice(0, MAX_DOOR_LENGTH) : null;
}

function idText(value: unknown): string | null {
  return value === null || value === undefined || value === '' ? null : String(value);
}

/** The filters that are plain column conditions (the person is looked up through event_people). */
const COLUMN_CONDITIONS = {
  since: 'started_at >= @since',
  until: 'started_at <= @until',
  status: 'status = @status',
  verdict: 'verdict = @verdict',
  door: 'door = @door',
} as const;

/** Builds the WHERE clause of a filter (but its person); every value is a bound parameter, never spliced into the SQL. */
function whereClause(filter: EventFilter): { sql: string; params: Record<string, unknown> } {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  for (const [key, condition] of Object.entries(COLUMN_CONDITIONS) as Array<[keyof typeof COLUMN_CONDITIONS, string]>) {
    if (filter[key] === undefined) continue;
    conditions.push(condition);
    params[key] = filter[key];
  }
  return { sql: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}

/**
 * The event log's SQL. Every method is one short synchronous statement or
 * transaction (well under a millisecond for a single event), so it can run on
 * Node-RED's loop; bulk work (retention) is split into batches by the caller.
 */
export class EventRepository {
  /** Prepared statements cached by their text (filters make at most a few dozen shapes); the outbox shares the cache. */
  readonly sql: (text: string) => Database.Statement;
  private readonly insertVerdictTx: (
    event: DoorbellEvent, verdict: Verdict, people: VerdictPerson[], faces: FaceRecord[], now: number, metadata: string, snapshotBytes: number | null,
  ) => void;
  private readonly deleteTx: (ids: string[]) => number;

  constructor(readonly db: Database.Database) {
    this.sql = statementCache(db);
    this.insertVerdictTx = db.transaction((event, verdict, people, faces, now, metadata, snapshotBytes) => {
      this.sql(`
        INSERT INTO events (id, trigger, door, status, verdict, people, started_at, completed_at, processing_ms, frames_seen, snapshot_bytes, data, metadata, updated_at)
        VALUES (@id, @trigger, @door, 'completed', @verdict, @people, @startedAt, @now, coalesce(@latencyMs, @now - @startedAt), @framesSeen, @snapshotBytes, @data, @metadata, @now)
        ON CONFLICT (id) DO UPDATE SET
          door = coalesce(door, excluded.door), status = 'completed', verdict = excluded.verdict, people = excluded.people, completed_at = excluded.completed_at,
          processing_ms = coalesce(@latencyMs, @now - started_at), frames_seen = max(frames_seen, excluded.frames_seen),
          snapshot_bytes = coalesce(excluded.snapshot_bytes, snapshot_bytes), data = excluded.data, updated_at = excluded.updated_at`).run({
        id: event.id,
        trigger: event.trigger,
        door: doorOf(event),
        verdict: verdict.status,
        people: JSON.stringify(people),
        startedAt: event.startedAt,
        now,
        latencyMs: finiteOrNull(verdict.latencyMs),
        framesSeen: finiteOrNull(verdict.framesSeen) ?? 0,
        data: JSON.stringify(verdict),
        metadata,
        snapshotBytes,
      });
      this.sql('DELETE FROM event_people WHERE event_id = ?').run(event.id);
      const addPerson = this.sql(`
        INSERT OR IGNORE INTO event_people (event_id, person_id, name, list, distance, started_at, verdict)
        SELECT @id, @personId, @name, @list, @distance, started_at, verdict FROM events WHERE id = @id`);
      for (const p of people) {
        addPerson.run({ id: event.id, personId: idText(p.personId), name: p.name, list: p.list ?? null, distance: finiteOrNull(p.distance) });
      }
      this.sql('DELETE FROM event_faces WHERE event_id = ?').run(event.id);
      const addFace = this.sql(`
        INSERT INTO event_faces (event_id, frame_seq, x, y, width, height, score, quality, person_id, name, list, distance, confidence, crop)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const f of faces) {
        addFace.run(
          event.id, finiteOrNull(f.frameSeq), f.box.x, f.box.y, f.box.width, f.box.height, finiteOrNull(f.score), finiteOrNull(f.quality),
          idText(f.personId), f.name ?? null, f.list ?? null, finiteOrNull(f.distance), finiteOrNull(f.confidence),
          f.crop ? Buffer.from(f.crop.buffer, f.crop.byteOffset, f.crop.byteLength) : null,
        );
      }
    });
    this.deleteTx = db.transaction((ids: string[]) => {
      let deleted = 0;
      for (const id of ids) {
        this.sql('DELETE FROM event_faces WHERE event_id = ?').run(id);
        this.sql('DELETE FROM event_people WHERE event_id = ?').run(id);
        deleted += this.sql('DELETE FROM events WHERE id = ?').run(id).changes;
      }
      return deleted;
    });
  }

  /** The press: a new event in `created`. A second press message for the same id changes nothing. */
  recordPress(event: DoorbellEvent, now: number, metadata: Record<string, unknown> = {}): boolean {
    return (
      this.sql(`
        INSERT INTO events (id, trigger, door, status, started_at, metadata, updated_at)
        VALUES (?, ?, ?, 'created', ?, ?, ?) ON CONFLICT (id) DO NOTHING`).run(event.id, event.trigger, doorOf(event), event.startedAt, JSON.stringify(metadata), now).changes > 0
    );
  }

  /** A frame of the event: the first one moves it to `processing`; frames are counted. */
  recordFrame(event: DoorbellEvent, now: number, metadata: Record<string, unknown> = {}): void {
    this.sql(`
      INSERT INTO events (id, trigger, door, status, started_at, processing_at, frames_seen, metadata, updated_at)
      VALUES (@id, @trigger, @door, 'processing', @startedAt, @now, 1, @metadata, @now)
      ON CONFLICT (id) DO UPDATE SET
        door = coalesce(door, excluded.door), frames_seen = frames_seen + 1, processing_at = coalesce(processing_at, @now), updated_at = @now,
        status = CASE WHEN status = 'created' THEN 'processing' ELSE status END`).run({
      id: event.id,
      trigger: event.trigger,
      door: doorOf(event),
      startedAt: event.startedAt,
      now,
      metadata: JSON.stringify(metadata),
    });
  }

  /**
   * The verdict: `completed`, with its people and faces (replacing any stored
   * earlier) and the bytes of its snapshot files when they were written, in one transaction.
   */
  recordVerdict(
    event: DoorbellEvent, verdict: Verdict, people: VerdictPerson[], faces: FaceRecord[], now: number,
    metadata: Record<string, unknown> = {}, snapshotBytes: number | null = null,
  ): void {
    this.insertVerdictTx(event, verdict, people, faces, now, JSON.stringify(metadata), snapshotBytes);
  }

  /**
   * An error of the event. It fails an event that has not completed; an error
   * after the verdict (say, a notification that could not be sent) is kept in
   * `error_message` but leaves the verdict standing. A later verdict completes
   * a failed event (one bad frame of a burst does not lose the visit).
   */
  recordFailure(event: DoorbellEvent, message: string, now: number, metadata: Record<string, unknown> = {}): void {
    this.sql(`
      INSERT INTO events (id, trigger, door, status, started_at, completed_at, processing_ms, error_message, metadata, updated_at)
      VALUES (@id, @trigger, @door, 'failed', @startedAt, @now, @now - @startedAt, @message, @metadata, @now)
      ON CONFLICT (id) DO UPDATE SET
        door = coalesce(door, excluded.door),
        error_message = substr(CASE WHEN error_message IS NULL THEN @message ELSE error_message || '; ' || @message END, 1, ${MAX_ERROR_TEXT}),
        completed_at = CASE WHEN status = 'completed' THEN completed_at ELSE @now END,
        processing_ms = CASE WHEN status = 'completed' THEN processing_ms ELSE @now - started_at END,
        status = CASE WHEN status = 'completed' THEN status ELSE 'failed' END,
        updated_at = @now`).run({
      id: event.id,
      trigger: event.trigger,
      door: doorOf(event),
      startedAt: event.startedAt,
      now,
      message: message.slice(0, MAX_ERROR_TEXT),
      metadata: JSON.stringify(metadata),
    });
  }

  /** Records that the event's snapshot files are gone (retention, privacy, a forgotten person). */
  clearSnapshot(id: string): void {
    this.sql('UPDATE events SET snapshot_bytes = NULL WHERE id = ?').run(id);
  }

  get(id: string): EventDetail | undefined {
    const row = this.sql(`SELECT ${SUMMARY_COLUMNS}, data, metadata FROM events WHERE id = ?`).get(id) as EventRow | undefined;
    if (!row) return undefined;
    const faces = this.sql(`
      SELECT id, frame_seq, x, y, width, height, score, quality, person_id, name, list, distance, confidence, crop IS NOT NULL AS has_crop
      FROM event_faces WHERE event_id = ? ORDER BY id`).all(id) as FaceRow[];
    return {
      ...toSummary(row),
      faces: faces.map(toStoredFace),
      data: parseJson(row.data, {}),
      metadata: parseJson(row.metadata, {}),
    };
  }

  faceCrop(eventId: string, faceId: number): Buffer | undefined {
    const row = this.sql('SELECT crop FROM event_faces WHERE id = ? AND event_id = ?').get(faceId, eventId) as { crop: Buffer | null } | undefined;
    return row?.crop ?? undefined;
  }

  /** Newest first, with the total that matched (for paging); `limit: 0` gives the total alone. */
  query(filter: EventFilter = {}): EventPage {
    const limit = Math.min(MAX_PAGE_SIZE, Math.max(0, Math.floor(filter.limit ?? DEFAULT_PAGE_SIZE)));
    const offset = Math.max(0, Math.floor(filter.offset ?? 0));
    if (filter.person !== undefined || filter.personId !== undefined) return this.queryByPerson(filter, limit, offset);
    const { sql, params } = whereClause(filter);
    const rows = this.sql(`SELECT ${SUMMARY_COLUMNS} FROM events ${sql} ORDER BY started_at DESC, id DESC LIMIT @limit OFFSET @offset`).all({
      ...params,
      limit,
      offset,
    }) as EventRow[];
    const { total } = this.sql(`SELECT count(*) AS total FROM events ${sql}`).get(params) as { total: number };
    return { events: rows.map(toSummary), total };
  }

  /**
   * A person's events, paged from the event_people indexes (by name,
   * case-insensitive, or by person id, never one read as the other), then
   * only the page's events read. People are written with the verdict, so only
   * completed events have any.
   */
  private queryByPerson(filter: EventFilter, limit: number, offset: number): EventPage {
    if (filter.status !== undefined && filter.status !== 'completed') return { events: [], total: 0 };
    const { sql, params } = whereClause({ ...filter, status: undefined, door: undefined });
    // event_people has no door: the door narrows through the events' own index.
    const door = filter.door === undefined ? '' : 'AND event_id IN (SELECT id FROM events WHERE door = @door)';
    const and = `${sql.replace(/^WHERE/, 'AND')} ${door}`;
    const matched = filter.personId !== undefined
      ? `SELECT event_id, started_at FROM event_people WHERE person_id = @person ${and}`
      : `SELECT event_id, started_at FROM event_people WHERE name = @person COLLATE NOCASE ${and}`;
    const all = { ...params, person: filter.personId ?? filter.person, ...(filter.door === undefined ? {} : { door: filter.door }) };
    const page = this.sql(`${matched} ORDER BY started_at DESC, event_id DESC LIMIT @limit OFFSET @offset`).all({ ...all, limit, offset }) as Array<{ event_id: string }>;
    const { total } = this.sql(`SELECT count(*) AS total FROM (${matched})`).get(all) as { total: number };
    const byId = this.sql(`SELECT ${SUMMARY_COLUMNS} FROM events WHERE id = ?`);
    const events = page.map((p) => byId.get(p.event_id) as EventRow | undefined).filter((row): row is EventRow => row !== undefined);
    return { events: events.map(toSummary), total };
  }

  /** Deletes events with their people and faces (the caller removes snapshot files). */
  delete(ids: string[]): number {
    if (ids.length === 0) return 0;
    const deleted = this.deleteTx(ids);
    notifyEventsDeleted(this.db, ids);
    return deleted;
  }

  /** Up to `limit` events of this verdict (null: events without one) that started before `before`, oldest first. */
  expired(verdict: VerdictStatus | null, before: number, limit: number): Array<{ id: string; hasSnapshot: boolean }> {
    const columns = 'id, snapshot_bytes IS NOT NULL AS has_snapshot';
    const rows = verdict === null
      ? this.sql(`SELECT ${columns} FROM events WHERE verdict IS NULL AND started_at < ? ORDER BY started_at LIMIT ?`).all(before, limit)
      : this.sql(`SELECT ${columns} FROM events WHERE verdict = ? AND started_at < ? ORDER BY started_at LIMIT ?`).all(verdict, before, limit);
    return (rows as Array<{ id: string; has_snapshot: number }>).map((r) => ({ id: r.id, hasSnapshot: r.has_snapshot === 1 }));
  }

  /** Events still created/processing that started before `before` never got a verdict (e.g. Node-RED stopped mid-event): failed. */
  failUnfinished(before: number, now: number, message: string): number {
    return this.sql(`
      UPDATE events SET status = 'failed', error_message = coalesce(error_message, ?), completed_at = ?, processing_ms = ? - started_at, updated_at = ?
      WHERE status IN ('created', 'processing') AND started_at < ?`).run(message, now, now, now, before).changes;
  }

  /** Snapshots oldest first (for the disk budget). */
  oldestSnapshots(limit: number): Array<{ id: string; bytes: number }> {
    return this.sql('SELECT id, snapshot_bytes AS bytes FROM events WHERE snapshot_bytes IS NOT NULL ORDER BY started_at LIMIT ?').all(limit) as Array<{
      id: string;
      bytes: number;
    }>;
  }

  snapshotBytes(): number {
    return (this.sql('SELECT coalesce(sum(snapshot_bytes), 0) AS bytes FROM events WHERE snapshot_bytes IS NOT NULL').get() as { bytes: number }).bytes;
  }

  /** Events with a snapshot that shows a known person (privacy option). */
  knownSnapshots(limit: number): string[] {
    const rows = this.sql(`
      SELECT id FROM events WHERE snapshot_bytes IS NOT NULL
        AND (verdict = 'known' OR id IN (SELECT event_id FROM event_people WHERE list = 'known'))
      LIMIT ?`).all(limit) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  /** Drops up to `limit` stored crops of known people's faces (privacy option). */
  dropKnownCrops(limit: number): number {
    return this.sql(`
      UPDATE event_faces SET crop = NULL
      WHERE id IN (SELECT id FROM event_faces WHERE list = 'known' AND crop IS NOT NULL LIMIT ?)`).run(limit).changes;
  }

  /** Events naming this person that still have a snapshot. */
  snapshotsOfPerson(personId: string, limit: number): string[] {
    const rows = this.sql(`
      SELECT id FROM events WHERE snapshot_bytes IS NOT NULL
        AND id IN (SELECT event_id FROM event_people WHERE person_id = ?) LIMIT ?`).all(personId, limit) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  /**
   * Replaces a forgotten person's name in up to `limit` of the events naming
   * them (their people, faces and stored verdict) by a placeholder, in one
   * transaction; returns how many events changed (0: none is left).
   */
  redactPersonName(personId: string, limit: number): number {
    const placeholder = forgottenName(personId);
    return this.db.transaction(() => {
      const ids = (this.sql('SELECT event_id FROM event_people WHERE person_id = ? AND name <> ? LIMIT ?').all(personId, placeholder, limit) as Array<{ event_id: string }>).map((r) => r.event_id);
      for (const id of ids) {
        const row = this.sql('SELECT people, data FROM events WHERE id = ?').get(id) as { people: string; data: string } | undefined;
        if (row) this.sql('UPDATE events SET people = ?, data = ? WHERE id = ?').run(redactPersonJson(row.people, personId), redactPersonJson(row.data, personId), id);
        this.sql('UPDATE event_people SET name = ? WHERE event_id = ? AND person_id = ?').run(placeholder, id, personId);
      }
      // Faces carry the person too, also in events whose people list did not name them (a face seen but not decided on).
      this.sql('UPDATE event_faces SET name = ? WHERE person_id = ? AND name <> ?').run(placeholder, personId, placeholder);
      return ids.length;
    })();
  }

  /** Drops the stored crops of this person's faces. */
  dropCropsOfPerson(personId: string): number {
    return this.sql('UPDATE event_faces SET crop = NULL WHERE person_id = ? AND crop IS NOT NULL').run(personId).changes;
  }

  count(): number {
    return (this.sql('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }
}
