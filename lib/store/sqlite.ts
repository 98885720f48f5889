import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { PorchlightError } from '../errors';
import { runMigrations } from './migrations';
import { normalizeName } from './names';
import * as common from './rows';
import type { CalibratedTolerance, EmbeddingRow, EnrollResult, FaceLabel, FaceRecord, Store, FaceWithData, ModelSummary, NewFace, NewFaceLabel, Person, PersonList, PersonRef, PersonUpdate, StoreChange, StoreListener, ToleranceChange, ToleranceUpdate } from './types';

export { blobToEmbedding, embeddingToBlob } from './rows';

export interface SqliteStoreOptions {
  /** Milliseconds a writer waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}


/**
 * The face DB in one SQLite file through better-sqlite3 (synchronous, and
 * fast: single-row reads and writes take microseconds). Bulk work goes through
 * paged iterators that yield to the event loop between pages.
 */
export class SqliteStore implements Store {
  readonly backend = 'sqlite';
  readonly location: string;
  /** The open connection, for other tables in the same file (the event log). */
  readonly db: Database.Database;
  private readonly listeners = new common.StoreListeners();
  private readonly statements;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.location = file;
    this.db = new Database(file);
    try {
      this.configure(options);
      runMigrations(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    const db = this.db;
    this.statements = {
      people: db.prepare<[], common.PersonRow>(`SELECT ${common.PERSON_COLUMNS} FROM people p ORDER BY p.name`),
      personById: db.prepare<[number], common.PersonRow>(`SELECT ${common.PERSON_COLUMNS} FROM people p WHERE p.id = ?`),
      personByName: db.prepare<[string], common.PersonRow>(`SELECT ${common.PERSON_COLUMNS} FROM people p WHERE p.name = ?`),
      insertPerson: db.prepare('INSERT INTO people (name, list, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
      updatePerson: db.prepare('UPDATE people SET name = ?, list = ?, notes = ?, updated_at = ? WHERE id = ?'),
      deletePerson: db.prepare('DELETE FROM people WHERE id = ?'),
      insertFace: db.prepare(`INSERT INTO faces (${common.FACE_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      faces: db.prepare<[], common.FaceRow>(`SELECT ${common.FACE_COLUMNS} FROM faces ORDER BY id`),
      facesOf: db.prepare<[number], common.FaceRow>(`SELECT ${common.FACE_COLUMNS} FROM faces WHERE person_id = ? ORDER BY id`),
      faceIdsOf: db.prepare<[number], { id: number }>('SELECT id FROM faces WHERE person_id = ?'),
      // Negatives of others cut from this person's face ("not X, it is Y"): they go with Y (migration 004's trigger).
      correctedNegativesOf: db.prepare<[number], { id: number }>('SELECT face_id AS id FROM face_labels WHERE corrected_person_id = ? AND face_id IS NOT NULL'),
      face: db.prepare<[number], common.FaceRow>(`SELECT ${common.FACE_COLUMNS}, embedding, crop FROM faces WHERE id = ?`),
      modelDim: db.prepare<[string], { dim: number }>('SELECT dim FROM faces WHERE model = ? LIMIT 1'),
      faceRecord: db.prepare<[number], common.FaceRow>(`SELECT ${common.FACE_COLUMNS} FROM faces WHERE id = ?`),
      deleteFace: db.prepare('DELETE FROM faces WHERE id = ?'),
      models: db.prepare<[], { model: string; dim: number; faces: number }>('SELECT model, dim, count(*) AS faces FROM faces GROUP BY model, dim ORDER BY model'),
      embeddingPage: db.prepare<[number, number], common.EmbeddingDbRow>(`SELECT ${common.EMBEDDING_COLUMNS} FROM faces WHERE id > ? ORDER BY id LIMIT ?`),
      modelEmbeddingPage: db.prepare<[string, number, number], common.EmbeddingDbRow>(
        `SELECT ${common.EMBEDDING_COLUMNS} FROM faces WHERE model = ? AND id > ? ORDER BY id LIMIT ?`,
      ),
      insertLabel: db.prepare(`INSERT INTO face_labels (${common.LABEL_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      label: db.prepare<[number], common.LabelRow>('SELECT * FROM face_labels WHERE id = ?'),
      labels: db.prepare<[], common.LabelRow>('SELECT * FROM face_labels ORDER BY id'),
      modelLabels: db.prepare<[string], common.LabelRow>('SELECT * FROM face_labels WHERE model = ? ORDER BY id'),
      tolerances: db.prepare<[], common.ToleranceRow>('SELECT * FROM tolerances ORDER BY model, person_id'),
      tolerance: db.prepare<[string, number], common.ToleranceRow>('SELECT * FROM tolerances WHERE model = ? AND ifnull(person_id, 0) = ?'),
      upsertTolerance: db.prepare(
        `INSERT INTO tolerances (model, person_id, tolerance, target_far, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (model, ifnull(person_id, 0)) DO UPDATE SET tolerance = excluded.tolerance, target_far = excluded.target_far, updated_at = excluded.updated_at`,
      ),
      deleteTolerance: db.prepare('DELETE FROM tolerances WHERE model = ? AND ifnull(person_id, 0) = ?'),
      insertToleranceChange: db.prepare(
        `INSERT INTO tolerance_changes (changed_at, actor, model, person_id, person_name, old_tolerance, new_tolerance, target_far)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      toleranceHistory: db.prepare<[number], common.ToleranceChangeRow>('SELECT * FROM tolerance_changes ORDER BY id DESC LIMIT ?'),
    };
  }

  private configure(options: SqliteStoreOptions): void {
    this.db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash of
    // Node-RED loses nothing, a power cut can lose the last few commits but
    // never corrupts the file. FULL would fsync on every enrollment and event,
    // which is slow and wears out the SD card of a Raspberry Pi.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    this.db.pragma('foreign_keys = ON');
    // Forgetting a person must not leave their face in free pages of the file.
    this.db.pragma('secure_delete = ON');
  }

  onChange(listener: StoreListener): () => void {
    return this.listeners.add(listener);
  }

  private emit(change: StoreChange): void {
    this.listeners.emit(change);
  }

  /**
   * secure_delete zeroes the freed pages; the WAL may still hold copies of them until it is
   * checkpointed and emptied. Best effort: a reader holding the WAL open defers it.
   */
  private purgeDeleted(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private findPerson(ref: PersonRef): common.PersonRow | undefined {
    if (typeof ref === 'number') return this.statements.personById.get(ref);
    return this.statements.personByName.get(normalizeName(ref));
  }

  private requirePerson(ref: PersonRef): common.PersonRow {
    const row = this.findPerson(ref);
    if (!row) throw common.notFoundPerson(ref);
    return row;
  }

  async listPeople(): Promise<Person[]> {
    return this.statements.people.all().map(common.toPerson);
  }

  async getPerson(ref: PersonRef): Promise<Person | undefined> {
    const row = this.findPerson(ref);
    return row && common.toPerson(row);
  }

  async enroll(name: string, faces: readonly NewFace[], options: { list?: PersonList; notes?: string } = {}): Promise<EnrollResult> {
    const { name: cleanName, list, notes } = common.checkEnrollment(name, faces, options);
    const now = Date.now();
    const { person, created, faceIds, rows } = this.db.transaction(() => {
      let existing = this.statements.personByName.get(cleanName);
      const isNew = !existing;
      if (existing && list && existing.list !== list) {
        throw common.wrongListError(existing.name, existing.list, list);
      }
      if (!existing) {
        const { lastInsertRowid } = this.statements.insertPerson.run(cleanName, list ?? 'known', notes, now, now);
        existing = this.statements.personById.get(Number(lastInsertRowid));
      }
      const personId = existing!.id;
      const inserted: EmbeddingRow[] = faces.map((face) => {
        // One size per model (checked against the rows inserted so far, this call's included): the matcher keeps one matrix per model.
        common.checkModelDim(face.model, this.statements.modelDim.get(face.model)?.dim, face.embedding.length);
        const { values, row } = common.newFaceRow(personId, face, now);
        return row(Number(this.statements.insertFace.run(...values).lastInsertRowid));
      });
      return { person: this.statements.personById.get(personId)!, created: isNew, faceIds: inserted.map((r) => r.faceId), rows: inserted };
    })();
    this.emit({ type: 'faces-added', person: common.labelOf(person), faces: rows });
    return { person: common.toPerson(person), created, faceIds };
  }

  async updatePerson(ref: PersonRef, update: PersonUpdate): Promise<Person> {
    const { name, list, notes } = common.checkPersonUpdate(update);
    const person = this.db.transaction(() => {
      const row = this.requirePerson(ref);
      if (name !== undefined && name.toLowerCase() !== row.name.toLowerCase() && this.statements.personByName.get(name)) {
        throw common.nameTakenError(name);
      }
      this.statements.updatePerson.run(name ?? row.name, list ?? row.list, notes ?? row.notes, Date.now(), row.id);
      return this.statements.personById.get(row.id)!;
    })();
    this.emit({ type: 'person-updated', person: common.labelOf(person) });
    return common.toPerson(person);
  }

  async forget(ref: PersonRef): Promise<{ person: Person; facesRemoved: number }> {
    const { person, faceIds } = this.db.transaction(() => {
      const row = this.requirePerson(ref);
      const ids = [...this.statements.faceIdsOf.all(row.id), ...this.statements.correctedNegativesOf.all(row.id)].map((r) => r.id);
      this.statements.deletePerson.run(row.id); // faces and labels go with it (ON DELETE CASCADE)
      return { person: row, faceIds: ids };
    })();
    this.purgeDeleted();
    this.emit({ type: 'person-removed', personId: person.id, faceIds });
    return { person: common.toPerson(person), facesRemoved: faceIds.length };
  }

  async listFaces(ref?: PersonRef): Promise<FaceRecord[]> {
    const rows = ref === undefined ? this.statements.faces.all() : this.statements.facesOf.all(this.requirePerson(ref).id);
    return rows.map(common.toFace);
  }

  async getFace(faceId: number): Promise<FaceWithData | undefined> {
    const row = this.statements.face.get(faceId);
    return row && common.toFaceWithData(row);
  }

  async removeFace(faceId: number, personId?: number): Promise<FaceRecord> {
    const row = this.statements.faceRecord.get(faceId);
    if (!row) throw new PorchlightError('NOT_FOUND', `no face with id ${faceId}`);
    if (personId !== undefined && row.person_id !== personId) throw new PorchlightError('NOT_FOUND', `face ${faceId} is not one of person ${personId}'s faces`);
    this.statements.deleteFace.run(faceId);
    this.purgeDeleted();
    this.emit({ type: 'faces-removed', faceIds: [faceId] });
    return common.toFace(row);
  }

  async models(): Promise<ModelSummary[]> {
    return this.statements.models.all();
  }

  async *embeddings(model?: string, pageSize = 1000): AsyncIterable<EmbeddingRow[]> {
    let after = 0;
    for (;;) {
      const rows = model === undefined ? this.statements.embeddingPage.all(after, pageSize) : this.statements.modelEmbeddingPage.all(model, after, pageSize);
      if (rows.length === 0) return;
      after = rows[rows.length - 1].id;
      yield rows.map(common.toEmbeddingRow);
      if (rows.length < pageSize) return;
      await yieldToEventLoop();
    }
  }

  async addLabel(label: NewFaceLabel): Promise<FaceLabel> {
    common.checkLabel(label);
    const id = this.db.transaction(() => {
      this.requirePerson(label.personId);
      if (label.correctedPersonId != null) this.requirePerson(label.correctedPersonId);
      return Number(this.statements.insertLabel.run(...common.newLabelValues(label)).lastInsertRowid);
    })();
    return common.toLabel(this.statements.label.get(id)!);
  }

  async labels(model?: string): Promise<FaceLabel[]> {
    return (model === undefined ? this.statements.labels.all() : this.statements.modelLabels.all(model)).map(common.toLabel);
  }

  async tolerances(model?: string): Promise<CalibratedTolerance[]> {
    return this.statements.tolerances.all().map(common.toTolerance).filter((t) => model === undefined || t.model === model);
  }

  async setTolerances(updates: readonly ToleranceUpdate[], meta: { actor: string; targetFar?: number | null }): Promise<ToleranceChange[]> {
    common.checkToleranceUpdates(updates);
    const targetFar = meta.targetFar ?? null;
    const now = Date.now();
    const ids = this.db.transaction(() => {
      const changed: number[] = [];
      for (const u of updates) {
        const person = u.personId === null ? null : this.requirePerson(u.personId);
        const scope = u.personId ?? 0;
        const old = this.statements.tolerance.get(u.model, scope)?.tolerance ?? null;
        if (u.tolerance === null) this.statements.deleteTolerance.run(u.model, scope);
        else this.statements.upsertTolerance.run(u.model, u.personId, u.tolerance, targetFar, now);
        if (old === u.tolerance) continue;
        const { lastInsertRowid } = this.statements.insertToleranceChange.run(now, meta.actor ?? '', u.model, u.personId, person?.name ?? null, old, u.tolerance, targetFar);
        changed.push(Number(lastInsertRowid));
      }
      return changed;
    })();
    this.emit({ type: 'tolerances-changed', tolerances: await this.tolerances() });
    return (await this.toleranceHistory(ids.length)).filter((c) => ids.includes(c.id)).reverse();
  }

  async toleranceHistory(limit = 100): Promise<ToleranceChange[]> {
    return this.statements.toleranceHistory.all(limit).map(common.toToleranceChange);
  }

  /** better-sqlite3's online backup copies pages in steps between which the DB stays usable. */
  async backup(file: string): Promise<void> {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    await this.db.backup(file);
  }

  /** Tells matchers to reload everything (after a bulk change made outside `enroll`). */
  announceReset(): void {
    this.emit({ type: 'reset' });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }
}

/** Opens (creating if needed) the SQLite face DB and brings its schema up to date. */
export function openSqliteStore(file: string, options?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(file, options);
}
