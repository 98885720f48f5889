import type Database from 'better-sqlite3';
import { statementCache } from '../store/statement-cache';
import type { ClusterInfo } from './clusters';
import type { UnknownFace, VisitorFace, VisitorState } from './types';

interface ClusterRow {
  id: number;
  model: string;
  number: number | null;
  state: VisitorState;
  named_person: number | null;
}

export interface StoredFaceRow {
  id: number;
  visitorId: number;
  eventId: string;
  model: string;
  embedding: Float32Array;
  quality: number | null;
  seenAt: number;
}

interface FaceRow {
  id: number;
  visitor_id: number;
  event_id: string;
  model: string;
  embedding: Buffer;
  quality: number | null;
  seen_at: number;
}

const toCluster = (row: ClusterRow): ClusterInfo => ({ id: row.id, model: row.model, number: row.number, state: row.state, personId: row.named_person });

const toFloats = (blob: Buffer) => new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));

const toStoredFace = (row: FaceRow): StoredFaceRow => ({
  id: row.id,
  visitorId: row.visitor_id,
  eventId: row.event_id,
  model: row.model,
  embedding: toFloats(row.embedding),
  quality: row.quality,
  seenAt: row.seen_at,
});

/** The SQL of the visitor tables (migrations 003, 006). Every statement is short; bulk reads are paged by the caller. */
export class VisitorRepository {
  private readonly sql: (text: string) => Database.Statement;

  constructor(readonly db: Database.Database) {
    this.sql = statementCache(db);
  }

  /** Clusters with an id above `afterId`, `limit` at a time. */
  clusterPage(afterId: number, limit: number): ClusterInfo[] {
    const rows = this.sql('SELECT id, model, number, state, named_person FROM visitors WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as ClusterRow[];
    return rows.map(toCluster);
  }

  facePage(afterId: number, limit: number): StoredFaceRow[] {
    const rows = this.sql('SELECT id, visitor_id, event_id, model, embedding, quality, seen_at FROM visitor_faces WHERE id > ? ORDER BY id LIMIT ?').all(
      afterId,
      limit,
    ) as FaceRow[];
    return rows.map(toStoredFace);
  }

  facesWithEmbeddings(visitorId: number): Array<StoredFaceRow & { crop: Buffer | null }> {
    const rows = this.sql('SELECT id, visitor_id, event_id, model, embedding, quality, seen_at, crop FROM visitor_faces WHERE visitor_id = ? ORDER BY id').all(
      visitorId,
    ) as Array<FaceRow & { crop: Buffer | null }>;
    return rows.map((row) => ({ ...toStoredFace(row), crop: row.crop }));
  }

  facesOfEvent(eventId: string): StoredFaceRow[] {
    return (this.sql('SELECT id, visitor_id, event_id, model, embedding, quality, seen_at FROM visitor_faces WHERE event_id = ? ORDER BY id').all(eventId) as FaceRow[]).map(
      toStoredFace,
    );
  }

  /** A cluster's faces, best quality first (crops fetched one by one). */
  faces(visitorId: number, limit: number): VisitorFace[] {
    const rows = this.sql(`
      SELECT id, visitor_id, event_id, model, quality, seen_at, crop IS NOT NULL AS has_crop FROM visitor_faces
      WHERE visitor_id = ? ORDER BY quality IS NULL, quality DESC, id LIMIT ?`).all(visitorId, limit) as Array<Omit<FaceRow, 'embedding'> & { has_crop: number }>;
    return rows.map((r) => ({ id: r.id, visitorId: r.visitor_id, eventId: r.event_id, model: r.model, quality: r.quality, seenAt: r.seen_at, hasCrop: r.has_crop === 1 }));
  }

  crop(visitorId: number, faceId: number): Buffer | undefined {
    const row = this.sql('SELECT crop FROM visitor_faces WHERE id = ? AND visitor_id = ?').get(faceId, visitorId) as { crop: Buffer | null } | undefined;
    return row?.crop ?? undefined;
  }

  createCluster(model: string, now: number): ClusterInfo {
    const id = Number(this.sql("INSERT INTO visitors (model, state, created_at, updated_at) VALUES (?, 'open', ?, ?)").run(model, now, now).lastInsertRowid);
    return { id, model, number: null, state: 'open', personId: null };
  }

  addFace(visitorId: number, eventId: string, face: UnknownFace, seenAt: number): number {
    const blob = Buffer.from(face.embedding.buffer, face.embedding.byteOffset, face.embedding.byteLength);
    const crop = face.crop ? Buffer.from(face.crop.buffer, face.crop.byteOffset, face.crop.byteLength) : null;
    return Number(
      this.sql('INSERT INTO visitor_faces (visitor_id, event_id, model, embedding, dim, quality, crop, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        visitorId, eventId, face.model, blob, face.embedding.length, face.quality, crop, seenAt,
      ).lastInsertRowid,
    );
  }

  /** The next visitor number: one above the highest given (a deleted highest number may come back; the others never move). */
  giveNumber(visitorId: number, now: number): number {
    const { next } = this.sql('SELECT coalesce(max(number), 0) + 1 AS next FROM visitors').get() as { next: number };
    this.sql('UPDATE visitors SET number = ?, updated_at = ? WHERE id = ?').run(next, now, visitorId);
    return next;
  }

  setState(visitorId: number, state: VisitorState, personId: number | null, now: number): void {
    this.sql('UPDATE visitors SET state = ?, named_person = ?, updated_at = ? WHERE id = ?').run(state, personId, now, visitorId);
  }

  /** Moves the faces of `fromId` into `intoId`, which keeps the smaller of the two numbers; `fromId` goes. */
  merge(fromId: number, intoId: number, number: number | null, now: number): void {
    this.db.transaction(() => {
      this.sql('UPDATE visitor_faces SET visitor_id = ? WHERE visitor_id = ?').run(intoId, fromId);
      this.sql('DELETE FROM visitors WHERE id = ?').run(fromId);
      this.sql('UPDATE visitors SET number = ?, updated_at = ? WHERE id = ?').run(number, now, intoId);
    })();
  }

  /** Deletes these faces (a cluster left empty goes by trigger). */
  deleteFaces(faceIds: readonly number[]): void {
    this.db.transaction(() => {
      for (const id of faceIds) this.sql('DELETE FROM visitor_faces WHERE id = ?').run(id);
    })();
  }

  /** Faces whose event is not (or no longer) in the event log and that are older than `before`. */
  orphanFaces(before: number, limit: number): number[] {
    const rows = this.sql(`
      SELECT f.id FROM visitor_faces f WHERE f.seen_at < ? AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = f.event_id) LIMIT ?`).all(before, limit) as Array<{ id: number }>;
    return rows.map((r) => r.id);
  }
}
