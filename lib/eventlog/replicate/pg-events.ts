import type pg from 'pg';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SUMMARY_COLUMNS, toStoredFace, toSummary, type EventRow, type FaceRow } from '../repository';
import type { EventReader } from '../reader';
import type { SnapshotKind } from '../snapshot';
import type { EventDetail, EventFilter, EventPage } from '../types';
import type { OutboxBatch } from './outbox';
import { forgottenName, redactPersonJson } from '../redact';

/** A column of a replicated table and how it travels in the batch's JSON (numbers as float8, bytes as base64 text). */
type Field = [name: string, type: 'text' | 'float8' | 'bytea'];

const EVENT_FIELDS: Field[] = [
  ['id', 'text'], ['trigger', 'text'], ['door', 'text'], ['status', 'text'], ['verdict', 'text'], ['people', 'text'],
  ['started_at', 'float8'], ['processing_at', 'float8'], ['completed_at', 'float8'], ['processing_ms', 'float8'], ['frames_seen', 'float8'],
  ['error_message', 'text'], ['snapshot_bytes', 'float8'], ['data', 'text'], ['metadata', 'text'], ['updated_at', 'float8'],
];
const PERSON_FIELDS: Field[] = [
  ['event_id', 'text'], ['person_id', 'text'], ['name', 'text'], ['list', 'text'], ['distance', 'float8'], ['started_at', 'float8'], ['verdict', 'text'],
];
const FACE_FIELDS: Field[] = [
  ['event_id', 'text'], ['frame_seq', 'float8'], ['x', 'float8'], ['y', 'float8'], ['width', 'float8'], ['height', 'float8'],
  ['score', 'float8'], ['quality', 'float8'], ['person_id', 'text'], ['name', 'text'], ['list', 'text'], ['distance', 'float8'],
  ['confidence', 'float8'], ['crop', 'bytea'],
];
const IMAGE_FIELDS: Field[] = [['event_id', 'text'], ['snapshot', 'bytea'], ['thumbnail', 'bytea']];

/**
 * Buffers as base64 (JSON.stringify would spell them out byte by byte); NUL
 * characters dropped from text, which PostgreSQL's text cannot hold (SQLite's
 * can: an error message with one would otherwise block the outbox for good).
 */
function toJson(rows: readonly object[]): string {
  return JSON.stringify(rows, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    if (Buffer.isBuffer(raw)) return raw.toString('base64');
    return typeof value === 'string' ? value.replaceAll('\0', '') : value;
  });
}

/**
 * One INSERT of many rows: the rows go as a single JSON parameter, unpacked by
 * jsonb_to_recordset, so a batch of events costs a handful of round trips
 * rather than one per row. Float8 numbers take PostgreSQL's assignment cast
 * into integer columns.
 */
function insertFrom(table: string, fields: Field[], conflict = ''): string {
  const names = fields.map(([name]) => name).join(', ');
  const shape = fields.map(([name, type]) => `${name} ${type === 'bytea' ? 'text' : type}`).join(', ');
  const values = fields.map(([name, type]) => (type === 'bytea' ? `decode(r.${name}, 'base64')` : `r.${name}`)).join(', ');
  return `INSERT INTO ${table} (${names}) SELECT ${values} FROM jsonb_to_recordset($1::jsonb) AS r(${shape}) ${conflict}`;
}

const UPSERT_EVENTS = insertFrom(
  'events',
  EVENT_FIELDS,
  `ON CONFLICT (id) DO UPDATE SET ${EVENT_FIELDS.slice(1).map(([name]) => `${name} = excluded.${name}`).join(', ')}`,
);
const INSERT_PEOPLE = insertFrom('event_people', PERSON_FIELDS, 'ON CONFLICT DO NOTHING');
const INSERT_FACES = insertFrom('event_faces', FACE_FIELDS);
const INSERT_IMAGES = insertFrom('event_images', IMAGE_FIELDS);

/** The WHERE clause of a filter over `events`, with numbered parameters. */
function whereClause(filter: EventFilter): { sql: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const add = (condition: (n: string) => string, value: unknown) => {
    values.push(value);
    conditions.push(condition(`$${values.length}`));
  };
  if (filter.since !== undefined) add((n) => `started_at >= ${n}`, filter.since);
  if (filter.until !== undefined) add((n) => `started_at <= ${n}`, filter.until);
  if (filter.status !== undefined) add((n) => `status = ${n}`, filter.status);
  if (filter.verdict !== undefined) add((n) => `verdict = ${n}`, filter.verdict);
  if (filter.door !== undefined) add((n) => `door = ${n}`, filter.door);
  if (filter.person !== undefined) add((n) => `id IN (SELECT event_id FROM event_people WHERE lower(name) = lower(${n}))`, filter.person);
  if (filter.personId !== undefined) add((n) => `id IN (SELECT event_id FROM event_people WHERE person_id = ${n})`, filter.personId);
  return { sql: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', values };
}

/** Clears the child rows of `ids` (about to be rewritten or gone) and deletes the events `gone`; returns how many events went. */
async function removeEvents(client: pg.PoolClient, ids: string[], gone: string[]): Promise<number> {
  // One round trip: the children through data-modifying CTEs, then the events.
  const { rowCount } = await client.query(`
    WITH people AS (DELETE FROM event_people WHERE event_id = ANY($1)),
         faces AS (DELETE FROM event_faces WHERE event_id = ANY($1)),
         images AS (DELETE FROM event_images WHERE event_id = ANY($1))
    DELETE FROM events WHERE id = ANY($2)`, [ids, gone]);
  return rowCount ?? 0;
}

/**
 * The shared event log of every door in PostgreSQL (the tables of
 * migrations 002 and 005): written by each door's replicator, read by any
 * door's dashboard and admin API.
 */
export class PgEventLog implements EventReader {
  constructor(readonly pool: pg.Pool) {}

  /**
   * Writes a batch in one transaction: each event replaces what the shared log
   * had of it (row, people, faces, pictures), each deleted one goes. Writing
   * the same batch twice leaves the same rows: nothing is ever duplicated.
   */
  async write(batch: OutboxBatch): Promise<void> {
    const ids = [...batch.events.map((e) => e.id), ...batch.deleted];
    if (ids.length === 0) return;
    await this.transaction(async (client) => {
      await removeEvents(client, ids, batch.deleted);
      if (batch.events.length) await client.query(UPSERT_EVENTS, [toJson(batch.events)]);
      if (batch.people.length) await client.query(INSERT_PEOPLE, [toJson(batch.people)]);
      if (batch.faces.length) await client.query(INSERT_FACES, [toJson(batch.faces)]);
      if (batch.images.length) await client.query(INSERT_IMAGES, [toJson(batch.images)]);
    });
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // A link that drops while the client is checked out is reported here too (the query in flight fails with it).
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken); // a connection that failed mid-transaction is not reused
    }
  }

  /** Newest first, with the total that matched. */
  async query(filter: EventFilter = {}): Promise<EventPage> {
    const limit = Math.min(MAX_PAGE_SIZE, Math.max(0, Math.floor(filter.limit ?? DEFAULT_PAGE_SIZE)));
    const offset = Math.max(0, Math.floor(filter.offset ?? 0));
    const { sql, values } = whereClause(filter);
    const n = values.length;
    const [page, count] = await Promise.all([
      this.pool.query<EventRow>(`SELECT ${SUMMARY_COLUMNS} FROM events ${sql} ORDER BY started_at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`, [...values, limit, offset]),
      this.pool.query<{ total: number }>(`SELECT count(*)::int AS total FROM events ${sql}`, values),
    ]);
    return { events: page.rows.map(toSummary), total: count.rows[0].total };
  }

  async get(id: string): Promise<EventDetail | undefined> {
    const [event, faces] = await Promise.all([
      this.pool.query<EventRow & { data: string; metadata: string }>(`SELECT ${SUMMARY_COLUMNS}, data, metadata FROM events WHERE id = $1`, [id]),
      this.pool.query<FaceRow>(`
        SELECT id, frame_seq, x, y, width, height, score, quality, person_id, name, list, distance, confidence, (crop IS NOT NULL)::int AS has_crop
        FROM event_faces WHERE event_id = $1 ORDER BY id`, [id]),
    ]);
    const row = event.rows[0];
    if (!row) return undefined;
    return { ...toSummary(row), faces: faces.rows.map(toStoredFace), data: JSON.parse(row.data), metadata: JSON.parse(row.metadata) };
  }

  async faceCrop(eventId: string, faceId: number): Promise<Buffer | undefined> {
    const { rows } = await this.pool.query<{ crop: Buffer | null }>('SELECT crop FROM event_faces WHERE id = $1 AND event_id = $2', [faceId, eventId]);
    return rows[0]?.crop ?? undefined;
  }

  async image(eventId: string, kind: SnapshotKind): Promise<Buffer | undefined> {
    const column = kind === 'thumbnail' ? 'thumbnail' : 'snapshot';
    const { rows } = await this.pool.query<{ bytes: Buffer | null }>(`SELECT ${column} AS bytes FROM event_images WHERE event_id = $1`, [eventId]);
    return rows[0]?.bytes ?? undefined;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.transaction((client) => removeEvents(client, [id], [id]))) > 0;
  }

  /**
   * A person was forgotten: their face crops, the pictures of events naming
   * them and their name go from the shared log at once, whichever door took
   * them (a door that is down would otherwise keep them there until it runs
   * again); the visits stay under "(forgotten #id)".
   */
  async forgetPerson(personId: string): Promise<{ cropsDropped: number; snapshotsRemoved: number; namesRedacted: number }> {
    return this.transaction(async (client) => {
      const placeholder = forgottenName(personId);
      const named = await client.query<{ id: string; people: string; data: string }>(
        'SELECT id, people, data FROM events WHERE id IN (SELECT event_id FROM event_people WHERE person_id = $1 AND name <> $2)',
        [personId, placeholder],
      );
      for (const row of named.rows) {
        await client.query('UPDATE events SET people = $2, data = $3 WHERE id = $1', [row.id, redactPersonJson(row.people, personId), redactPersonJson(row.data, personId)]);
      }
      await client.query('UPDATE event_people SET name = $2 WHERE person_id = $1 AND name <> $2', [personId, placeholder]);
      await client.query('UPDATE event_faces SET name = $2 WHERE person_id = $1 AND name <> $2', [personId, placeholder]);
      const crops = await client.query('UPDATE event_faces SET crop = NULL WHERE person_id = $1 AND crop IS NOT NULL', [personId]);
      const images = await client.query(`
        WITH named AS (SELECT event_id FROM event_people WHERE person_id = $1),
             cleared AS (UPDATE events SET snapshot_bytes = NULL WHERE id IN (SELECT event_id FROM named))
        DELETE FROM event_images WHERE event_id IN (SELECT event_id FROM named)`, [personId]);
      return { cropsDropped: crops.rowCount ?? 0, snapshotsRemoved: images.rowCount ?? 0, namesRedacted: named.rows.length };
    });
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    return rows[0].n;
  }
}
