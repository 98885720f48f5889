import crypto from 'node:crypto';
import type pg from 'pg';
import { PorchlightError, isPorchlightError } from '../../errors';
import { Backoff } from '../../process/backoff';
import { normalizeName } from '../names';
import * as common from '../rows';
import type { CalibratedTolerance, EmbeddingRow, EnrollResult, FaceLabel, FaceRecord, Store, FaceWithData, ModelSummary, NewFace, NewFaceLabel, Person, PersonList, PersonRef, PersonUpdate, StoreChange, StoreListener, ToleranceChange, ToleranceUpdate } from '../types';
import { FACES_CHANNEL, PgChangeFeed, noticePayload, type FaceNotice, type FeedState } from './changes';
import { copyToSqlite } from './backup';
import { describePg, explainPgError, openPgPool, type PostgresConfig } from './connection';
import { runPgMigrations } from './migrations';

/** Reachability of the database as the store last saw it, for node status. */
export type StoreHealth = { reachable: true } | { reachable: false; error: string };

type Notice = FaceNotice extends infer N ? (N extends FaceNotice ? Omit<N, 'origin'> : never) : never;

const UNIQUE_VIOLATION = '23505';

/**
 * The face DB in PostgreSQL, shared by every door. Same tables and the same
 * Store contract as SQLite. Each committed write notifies the other
 * instances (LISTEN/NOTIFY, see changes.ts); their stores read the changed
 * rows and emit the same StoreChange events a local write does, so each
 * door's in-memory matcher follows the shared gallery within a second.
 */
export class PostgresStore implements Store {
  readonly backend = 'postgres';
  readonly location: string;
  /** Tells this store's own notices from other instances'. */
  readonly instanceId = crypto.randomUUID();
  private readonly listeners = new common.StoreListeners();
  private readonly healthListeners = new Set<(health: StoreHealth) => void>();
  private currentHealth: StoreHealth = { reachable: true };
  private readonly feed: PgChangeFeed;
  /** Remote notices are handled one after another, in commit order. */
  private noticeChain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Set while a store opened with `startUnreachable` has not reached its server yet. */
  private unreachable: PorchlightError | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly config: PostgresConfig,
    readonly pool: pg.Pool,
  ) {
    this.location = describePg(config);
    this.feed = new PgChangeFeed(config, {
      notice: (notice) => this.received(notice),
      reconnected: () => this.listeners.emit({ type: 'reset' }),
      state: (state) => this.setHealth(stateToHealth(state)),
    });
  }

  /**
   * Connects, migrates (one instance at a time) and starts listening; a clear
   * DB_UNREACHABLE when the server is not there. With `startUnreachable` an
   * unreachable server is not an error: the store opens empty and unhealthy
   * (every query fails with DB_UNREACHABLE), keeps trying with backoff, and
   * once connected emits `reset` so matchers load the gallery. A door that
   * boots before the database then comes up by itself, without a redeploy.
   */
  static async open(config: PostgresConfig, options: { startUnreachable?: boolean } = {}): Promise<PostgresStore> {
    const pool = openPgPool(config);
    const store = new PostgresStore(config, pool);
    try {
      await store.connect();
    } catch (err) {
      const explained = explainPgError(config, err);
      if (options.startUnreachable && isPorchlightError(explained, 'DB_UNREACHABLE')) {
        store.unreachable = explained;
        store.setHealth({ reachable: false, error: (err as Error).message });
        store.connectInBackground();
        return store;
      }
      await store.close();
      throw explained;
    }
    return store;
  }

  private async connect(): Promise<void> {
    await runPgMigrations(this.pool);
    await this.feed.start();
  }

  /** Retries `connect` with backoff until it succeeds or the store closes; then matchers reload. */
  private connectInBackground(): void {
    const backoff = new Backoff(500, 15_000);
    const attempt = () => {
      this.retryTimer = undefined;
      this.connect().then(
        () => {
          if (this.closed) return;
          this.unreachable = undefined;
          this.setHealth({ reachable: true });
          this.listeners.emit({ type: 'reset' });
        },
        (err: Error) => {
          if (this.closed) return;
          this.setHealth({ reachable: false, error: err.message });
          this.retryTimer = setTimeout(attempt, backoff.next());
          this.retryTimer.unref();
        },
      );
    };
    this.retryTimer = setTimeout(attempt, backoff.next());
    this.retryTimer.unref();
  }

  get health(): StoreHealth {
    return this.currentHealth;
  }

  /** Called with each change of reachability (the LISTEN connection dropped, came back). */
  onHealth(listener: (health: StoreHealth) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  private setHealth(health: StoreHealth): void {
    if (this.closed || (health.reachable && this.currentHealth.reachable)) return;
    this.currentHealth = health;
    for (const listener of this.healthListeners) listener(health);
  }

  onChange(listener: StoreListener): () => void {
    return this.listeners.add(listener);
  }

  // ---- queries and transactions -------------------------------------------

  private async query<R extends pg.QueryResultRow>(text: string, values?: unknown[], client: pg.Pool | pg.ClientBase = this.pool): Promise<R[]> {
    if (this.unreachable) throw this.unreachable;
    try {
      const { rows } = await client.query<R>(text, values);
      if (!this.currentHealth.reachable && this.feed.connected) this.setHealth({ reachable: true });
      return rows;
    } catch (err) {
      throw this.explain(err);
    }
  }

  private explain(err: unknown): unknown {
    const explained = explainPgError(this.config, err);
    if (explained !== err) this.setHealth({ reachable: false, error: (err as Error).message });
    return explained;
  }

  /**
   * Runs `work` in a transaction; `notice` (computed from its result) is sent
   * with the commit, so other instances hear of exactly what was committed.
   */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>, notice?: (result: T) => Notice): Promise<T> {
    if (this.unreachable) throw this.unreachable;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.explain(err);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      if (notice) await client.query('SELECT pg_notify($1, $2)', [FACES_CHANNEL, noticePayload({ ...notice(result), origin: this.instanceId } as FaceNotice)]);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr;
      });
      if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) throw new PorchlightError('CONFLICT', (err as Error).message);
      throw this.explain(err);
    } finally {
      // A connection that failed to roll back is not given to the next caller.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  private async findPerson(ref: PersonRef, client?: pg.ClientBase, lock = false): Promise<common.PersonRow | undefined> {
    const where = typeof ref === 'number' ? 'p.id = $1' : 'lower(p.name) = lower($1)';
    const rows = await this.query<common.PersonRow>(`SELECT ${common.PERSON_COLUMNS} FROM people p WHERE ${where}${lock ? ' FOR UPDATE' : ''}`, [typeof ref === 'number' ? ref : normalizeName(ref)], client);
    return rows[0];
  }

  private async requirePerson(ref: PersonRef, client?: pg.ClientBase, lock = false): Promise<common.PersonRow> {
    const row = await this.findPerson(ref, client, lock);
    if (!row) throw common.notFoundPerson(ref);
    return row;
  }

  // ---- Store --------------------------------------------------------------

  async listPeople(): Promise<Person[]> {
    return (await this.query<common.PersonRow>(`SELECT ${common.PERSON_COLUMNS} FROM people p ORDER BY lower(p.name), p.id`)).map(common.toPerson);
  }

  async getPerson(ref: PersonRef): Promise<Person | undefined> {
    const row = await this.findPerson(ref);
    return row && common.toPerson(row);
  }

  async enroll(name: string, faces: readonly NewFace[], options: { list?: PersonList; notes?: string } = {}): Promise<EnrollResult> {
    const { name: cleanName, list, notes } = common.checkEnrollment(name, faces, options);
    const now = Date.now();
    const { person, created, rows } = await this.transaction(
      async (client) => {
        // Two doors enrolling the same new name at once: one inserts, the other finds it (the row lock orders them).
        const inserted = await this.query<{ id: number }>(
          'INSERT INTO people (name, list, notes, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING RETURNING id',
          [cleanName, list ?? 'known', notes, now],
          client,
        );
        const existing = await this.requirePerson(cleanName, client, true);
        if (inserted.length === 0 && list && existing.list !== list) throw common.wrongListError(existing.name, existing.list, list);
        const added: EmbeddingRow[] = [];
        for (const face of faces) {
          const stored = await this.query<{ dim: number }>('SELECT dim FROM faces WHERE model = $1 LIMIT 1', [face.model], client);
          common.checkModelDim(face.model, stored[0]?.dim, face.embedding.length);
          const { values, row } = common.newFaceRow(existing.id, face, now);
          const [{ id }] = await this.query<{ id: number }>(`INSERT INTO faces (${common.FACE_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, values, client);
          added.push(row(id));
        }
        return { person: await this.requirePerson(existing.id, client), created: inserted.length > 0, rows: added };
      },
      (r) => ({ type: 'faces-added', personId: r.person.id, faceIds: r.rows.map((row) => row.faceId) }),
    );
    this.listeners.emit({ type: 'faces-added', person: common.labelOf(person), faces: rows });
    return { person: common.toPerson(person), created, faceIds: rows.map((r) => r.faceId) };
  }

  async updatePerson(ref: PersonRef, update: PersonUpdate): Promise<Person> {
    const { name, list, notes } = common.checkPersonUpdate(update);
    const person = await this.transaction(
      async (client) => {
        const row = await this.requirePerson(ref, client, true);
        if (name !== undefined && name.toLowerCase() !== row.name.toLowerCase() && (await this.findPerson(name, client))) throw common.nameTakenError(name);
        await this.query('UPDATE people SET name = $1, list = $2, notes = $3, updated_at = $4 WHERE id = $5', [name ?? row.name, list ?? row.list, notes ?? row.notes, Date.now(), row.id], client);
        return this.requirePerson(row.id, client);
      },
      (row) => ({ type: 'person-updated', personId: row.id }),
    );
    this.listeners.emit({ type: 'person-updated', person: common.labelOf(person) });
    return common.toPerson(person);
  }

  async forget(ref: PersonRef): Promise<{ person: Person; facesRemoved: number }> {
    const { person, faceIds } = await this.transaction(
      async (client) => {
        const row = await this.requirePerson(ref, client, true);
        // Faces go with the person (ON DELETE CASCADE), and so do negatives of others cut from this
        // person's face ("not X, it is Y": migration 004's trigger); their ids are read first for the matchers.
        const ids = (
          await this.query<{ id: number }>(
            'SELECT id FROM faces WHERE person_id = $1 UNION ALL SELECT face_id FROM face_labels WHERE corrected_person_id = $1 AND face_id IS NOT NULL',
            [row.id],
            client,
          )
        ).map((r) => r.id);
        await this.query('DELETE FROM people WHERE id = $1', [row.id], client);
        return { person: row, faceIds: ids };
      },
      (r) => ({ type: 'person-removed', personId: r.person.id, faceIds: r.faceIds }),
    );
    this.listeners.emit({ type: 'person-removed', personId: person.id, faceIds });
    return { person: common.toPerson(person), facesRemoved: faceIds.length };
  }

  async listFaces(ref?: PersonRef): Promise<FaceRecord[]> {
    const rows =
      ref === undefined
        ? await this.query<common.FaceRow>(`SELECT ${common.FACE_COLUMNS} FROM faces ORDER BY id`)
        : await this.query<common.FaceRow>(`SELECT ${common.FACE_COLUMNS} FROM faces WHERE person_id = $1 ORDER BY id`, [(await this.requirePerson(ref)).id]);
    return rows.map(common.toFace);
  }

  async getFace(faceId: number): Promise<FaceWithData | undefined> {
    const [row] = await this.query<common.FaceRow>(`SELECT ${common.FACE_COLUMNS}, embedding, crop FROM faces WHERE id = $1`, [faceId]);
    return row && common.toFaceWithData(row);
  }

  async removeFace(faceId: number, personId?: number): Promise<FaceRecord> {
    const row = await this.transaction(
      async (client) => {
        const [deleted] = await this.query<common.FaceRow>(
          `DELETE FROM faces WHERE id = $1 AND ($2::bigint IS NULL OR person_id = $2) RETURNING ${common.FACE_COLUMNS}`,
          [faceId, personId ?? null],
          client,
        );
        if (!deleted) {
          throw new PorchlightError('NOT_FOUND', personId === undefined ? `no face with id ${faceId}` : `no face with id ${faceId} of person ${personId}`);
        }
        return deleted;
      },
      () => ({ type: 'faces-removed', faceIds: [faceId] }),
    );
    this.listeners.emit({ type: 'faces-removed', faceIds: [faceId] });
    return common.toFace(row);
  }

  async models(): Promise<ModelSummary[]> {
    return this.query<ModelSummary>('SELECT model, dim, count(*) AS faces FROM faces GROUP BY model, dim ORDER BY model');
  }

  /**
   * Keyset pages by face id: each page is one short query, and nothing is held
   * open between pages. Pages are larger than SQLite's: each is a round trip
   * (5,000 rows load a gallery about twice as fast as 1,000), and the driver
   * parses rows as they arrive, so the event loop is not held for the page.
   */
  async *embeddings(model?: string, pageSize = 5000): AsyncIterable<EmbeddingRow[]> {
    let after = 0;
    for (;;) {
      const rows =
        model === undefined
          ? await this.query<common.EmbeddingDbRow>(`SELECT ${common.EMBEDDING_COLUMNS} FROM faces WHERE id > $1 ORDER BY id LIMIT $2`, [after, pageSize])
          : await this.query<common.EmbeddingDbRow>(`SELECT ${common.EMBEDDING_COLUMNS} FROM faces WHERE model = $1 AND id > $2 ORDER BY id LIMIT $3`, [model, after, pageSize]);
      if (rows.length === 0) return;
      after = rows[rows.length - 1].id;
      yield rows.map(common.toEmbeddingRow);
      if (rows.length < pageSize) return;
    }
  }

  async addLabel(label: NewFaceLabel): Promise<FaceLabel> {
    common.checkLabel(label);
    const row = await this.transaction(async (client) => {
      await this.requirePerson(label.personId, client);
      if (label.correctedPersonId != null) await this.requirePerson(label.correctedPersonId, client);
      const [inserted] = await this.query<common.LabelRow>(
        `INSERT INTO face_labels (${common.LABEL_INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
        common.newLabelValues(label),
        client,
      );
      return inserted;
    });
    return common.toLabel(row);
  }

  async labels(model?: string): Promise<FaceLabel[]> {
    return (await this.rowsOfModel<common.LabelRow>('face_labels', 'id', model)).map(common.toLabel);
  }

  async tolerances(model?: string): Promise<CalibratedTolerance[]> {
    return (await this.rowsOfModel<common.ToleranceRow>('tolerances', 'model, person_id NULLS FIRST', model)).map(common.toTolerance);
  }

  /** Every row of a table, or those of one model. */
  private rowsOfModel<R extends pg.QueryResultRow>(table: 'face_labels' | 'tolerances', order: string, model: string | undefined): Promise<R[]> {
    return model === undefined
      ? this.query<R>(`SELECT * FROM ${table} ORDER BY ${order}`)
      : this.query<R>(`SELECT * FROM ${table} WHERE model = $1 ORDER BY ${order}`, [model]);
  }

  async setTolerances(updates: readonly ToleranceUpdate[], meta: { actor: string; targetFar?: number | null }): Promise<ToleranceChange[]> {
    common.checkToleranceUpdates(updates);
    const targetFar = meta.targetFar ?? null;
    const now = Date.now();
    const changes = await this.transaction(
      async (client) => {
        const changed: common.ToleranceChangeRow[] = [];
        for (const u of updates) {
          const person = u.personId === null ? null : await this.requirePerson(u.personId, client);
          const scope = [u.model, u.personId ?? 0];
          const [old] = await this.query<common.ToleranceRow>('SELECT * FROM tolerances WHERE model = $1 AND coalesce(person_id, 0) = $2 FOR UPDATE', scope, client);
          if (u.tolerance === null) await this.query('DELETE FROM tolerances WHERE model = $1 AND coalesce(person_id, 0) = $2', scope, client);
          else {
            await this.query(
              `INSERT INTO tolerances (model, person_id, tolerance, target_far, updated_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (model, coalesce(person_id, 0)) DO UPDATE SET tolerance = excluded.tolerance, target_far = excluded.target_far, updated_at = excluded.updated_at`,
              [u.model, u.personId, u.tolerance, targetFar, now],
              client,
            );
          }
          const oldTolerance = old?.tolerance ?? null;
          if (oldTolerance === u.tolerance) continue;
          const [change] = await this.query<common.ToleranceChangeRow>(
            `INSERT INTO tolerance_changes (changed_at, actor, model, person_id, person_name, old_tolerance, new_tolerance, target_far)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
            [now, meta.actor ?? '', u.model, u.personId, person?.name ?? null, oldTolerance, u.tolerance, targetFar],
            client,
          );
          changed.push(change);
        }
        return changed;
      },
      () => ({ type: 'tolerances-changed' }),
    );
    this.listeners.emit({ type: 'tolerances-changed', tolerances: await this.tolerances() });
    return changes.map(common.toToleranceChange);
  }

  async toleranceHistory(limit = 100): Promise<ToleranceChange[]> {
    return (await this.query<common.ToleranceChangeRow>('SELECT * FROM tolerance_changes ORDER BY id DESC LIMIT $1', [limit])).map(common.toToleranceChange);
  }

  /** A SQLite file holding a consistent copy of the shared DB (one snapshot), usable as a SQLite store. */
  async backup(file: string): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.explain(err);
    }
    try {
      await copyToSqlite(client, file);
    } catch (err) {
      throw this.explain(err);
    } finally {
      client.release();
    }
  }

  /** Tells every instance's matchers to reload everything (after a bulk change made outside `enroll`). */
  async announceReset(): Promise<void> {
    await this.transaction(async () => undefined, () => ({ type: 'reset' }));
    this.listeners.emit({ type: 'reset' });
  }

  // ---- changes from other instances ------------------------------------------

  private received(notice: FaceNotice): void {
    if (notice.origin === this.instanceId) return; // told our own listeners at commit
    this.noticeChain = this.noticeChain
      .then(() => this.changeOf(notice))
      .then(
        (change) => {
          if (change && !this.closed) this.listeners.emit(change);
        },
        () => {
          // The rows could not be read (the DB went away between notice and read): reload everything.
          if (!this.closed) this.listeners.emit({ type: 'reset' });
        },
      );
  }

  /** The StoreChange a remote notice stands for, reading the rows it names; undefined when they are gone again. */
  private async changeOf(notice: FaceNotice): Promise<StoreChange | undefined> {
    switch (notice.type) {
      case 'faces-added': {
        const person = await this.findPerson(notice.personId);
        const rows = await this.query<common.EmbeddingDbRow>(`SELECT ${common.EMBEDDING_COLUMNS} FROM faces WHERE id = ANY($1) ORDER BY id`, [notice.faceIds]);
        return person && rows.length > 0 ? { type: 'faces-added', person: common.labelOf(person), faces: rows.map(common.toEmbeddingRow) } : undefined;
      }
      case 'person-updated': {
        const person = await this.findPerson(notice.personId);
        return person && { type: 'person-updated', person: common.labelOf(person) };
      }
      case 'faces-removed':
        return { type: 'faces-removed', faceIds: notice.faceIds };
      case 'person-removed':
        return { type: 'person-removed', personId: notice.personId, faceIds: notice.faceIds };
      case 'tolerances-changed':
        return { type: 'tolerances-changed', tolerances: await this.tolerances() };
      case 'reset':
        return { type: 'reset' };
      default:
        return undefined;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.listeners.clear();
    this.healthListeners.clear();
    await this.feed.close();
    await this.noticeChain.catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

function stateToHealth(state: FeedState): StoreHealth {
  return state.connected ? { reachable: true } : { reachable: false, error: state.error };
}

/** Opens the shared PostgreSQL face DB, creating or upgrading its schema. */
export function openPostgresStore(config: PostgresConfig, options?: { startUnreachable?: boolean }): Promise<PostgresStore> {
  return PostgresStore.open(config, options);
}
