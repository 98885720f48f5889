import { PorchlightError } from '../errors';
import { normalizeName, normalizeNotes, parseList } from './names';
import type {
  CalibratedTolerance,
  EmbeddingRow,
  FaceKind,
  FaceLabel,
  FaceRecord,
  FaceWithData,
  NewFace,
  NewFaceLabel,
  Person,
  PersonLabel,
  PersonList,
  PersonUpdate,
  StoreChange,
  StoreListener,
  ToleranceChange,
  ToleranceUpdate,
} from './types';

/*
 * What both backends share: the columns they select (the same SQL in SQLite
 * and PostgreSQL), the rows those return (PostgreSQL's bigints are read as
 * numbers, its bytea as Buffers, so the rows are alike), their mapping to the
 * Store types, and the checks made before writing.
 */

// `kind` (migration 004) is stored after the crop, which in SQLite spills into overflow pages:
// reading it for every row made the matcher's load several times slower. Counts and embedding
// pages find the few negatives through the partial index faces_negative instead.
export const PERSON_COLUMNS = `p.id, p.name, p.list, p.notes, p.created_at, p.updated_at,
  (SELECT count(*) FROM faces f WHERE f.person_id = p.id)
  - (SELECT count(*) FROM faces f WHERE f.person_id = p.id AND f.kind = 'negative') AS face_count`;
export const FACE_COLUMNS = 'id, person_id, kind, model, dim, quality, source, metadata, created_at';
export const EMBEDDING_COLUMNS = `id, person_id, model, embedding,
  CASE WHEN id IN (SELECT id FROM faces WHERE kind = 'negative') THEN 'negative' ELSE 'positive' END AS kind`;
/** The columns a new face is inserted with, in the order of `newFaceRow`'s values. */
export const FACE_INSERT_COLUMNS = 'person_id, kind, model, embedding, dim, quality, crop, source, metadata, created_at';
/** The columns a new label is inserted with, in the order of `newLabelValues`. */
export const LABEL_INSERT_COLUMNS = 'event_id, event_face_id, person_id, verdict, corrected_person_id, face_id, model, embedding, dim, distance, actor, created_at';

export interface PersonRow {
  id: number;
  name: string;
  list: PersonList;
  notes: string;
  created_at: number;
  updated_at: number;
  face_count: number;
}

export interface FaceRow {
  id: number;
  person_id: number;
  kind: FaceKind;
  model: string;
  dim: number;
  quality: number | null;
  source: string | null;
  metadata: string;
  created_at: number;
  embedding?: Buffer;
  crop?: Buffer | null;
}

export interface EmbeddingDbRow {
  id: number;
  person_id: number;
  kind: FaceKind;
  model: string;
  embedding: Buffer;
}

export interface LabelRow {
  id: number;
  event_id: string;
  event_face_id: number | null;
  person_id: number;
  verdict: FaceLabel['verdict'];
  corrected_person_id: number | null;
  face_id: number | null;
  model: string;
  embedding: Buffer;
  distance: number | null;
  actor: string;
  created_at: number;
}

export interface ToleranceRow {
  model: string;
  person_id: number | null;
  tolerance: number;
  target_far: number | null;
  updated_at: number;
}

export interface ToleranceChangeRow {
  id: number;
  changed_at: number;
  actor: string;
  model: string;
  person_id: number | null;
  person_name: string | null;
  old_tolerance: number | null;
  new_tolerance: number | null;
  target_far: number | null;
}

/** A float32 BLOB/bytea read back as a Float32Array (copied: the driver's buffers are not 4-byte aligned). */
export function blobToEmbedding(blob: Buffer): Float32Array {
  const copy = new Uint8Array(blob.length);
  copy.set(blob);
  return new Float32Array(copy.buffer);
}

/** Little-endian float32, the stored form of an embedding in both backends. */
export function embeddingToBlob(embedding: Float32Array | readonly number[]): Buffer {
  const floats = embedding instanceof Float32Array ? embedding : Float32Array.from(embedding);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
}

export function toPerson(row: PersonRow): Person {
  return { id: row.id, name: row.name, list: row.list, notes: row.notes, createdAt: row.created_at, updatedAt: row.updated_at, faceCount: row.face_count };
}

export function labelOf(row: PersonRow): PersonLabel {
  return { id: row.id, name: row.name, list: row.list };
}

export function toFace(row: FaceRow): FaceRecord {
  return {
    id: row.id,
    personId: row.person_id,
    kind: row.kind,
    model: row.model,
    dim: row.dim,
    quality: row.quality,
    source: row.source,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.created_at,
  };
}

/** A face row read with its embedding and crop. */
export function toFaceWithData(row: FaceRow): FaceWithData {
  return { ...toFace(row), embedding: blobToEmbedding(row.embedding!), crop: row.crop ?? null };
}

export function toEmbeddingRow(row: EmbeddingDbRow): EmbeddingRow {
  return { faceId: row.id, personId: row.person_id, model: row.model, embedding: blobToEmbedding(row.embedding), kind: row.kind };
}

/**
 * A new face as the values of FACE_INSERT_COLUMNS, and the matcher's row it becomes once it has its id
 * (the embedding is copied once: neither the stored blob nor the row shares the caller's array).
 */
export function newFaceRow(personId: number, face: NewFace, now: number): { values: unknown[]; row: (faceId: number) => EmbeddingRow } {
  const embedding = Float32Array.from(face.embedding);
  const kind = face.kind ?? 'positive';
  return {
    values: [
      personId,
      kind,
      face.model,
      embeddingToBlob(embedding),
      embedding.length,
      face.quality ?? null,
      face.crop ? Buffer.from(face.crop) : null,
      face.source ?? null,
      JSON.stringify(face.metadata ?? {}),
      face.createdAt ?? now,
    ],
    row: (faceId) => ({ faceId, personId, model: face.model, embedding, kind }),
  };
}

/** A new label as the values of LABEL_INSERT_COLUMNS. */
export function newLabelValues(label: NewFaceLabel): unknown[] {
  const embedding = Float32Array.from(label.embedding);
  return [
    label.eventId, label.eventFaceId ?? null, label.personId, label.verdict, label.correctedPersonId ?? null, label.faceId ?? null,
    label.model, embeddingToBlob(embedding), embedding.length, label.distance ?? null, label.actor ?? '', label.createdAt ?? Date.now(),
  ];
}

export function toLabel(row: LabelRow): FaceLabel {
  return {
    id: row.id,
    eventId: row.event_id,
    eventFaceId: row.event_face_id,
    personId: row.person_id,
    verdict: row.verdict,
    correctedPersonId: row.corrected_person_id,
    faceId: row.face_id,
    model: row.model,
    embedding: blobToEmbedding(row.embedding),
    distance: row.distance,
    actor: row.actor,
    createdAt: row.created_at,
  };
}

export function toTolerance(row: ToleranceRow): CalibratedTolerance {
  return { model: row.model, personId: row.person_id, tolerance: row.tolerance, targetFar: row.target_far, updatedAt: row.updated_at };
}

export function toToleranceChange(row: ToleranceChangeRow): ToleranceChange {
  return {
    id: row.id,
    changedAt: row.changed_at,
    actor: row.actor,
    model: row.model,
    personId: row.person_id,
    personName: row.person_name,
    oldTolerance: row.old_tolerance,
    newTolerance: row.new_tolerance,
    targetFar: row.target_far,
  };
}

export function checkFace(face: Pick<NewFace, 'kind' | 'model' | 'embedding'>): void {
  if (face.kind !== undefined && face.kind !== 'positive' && face.kind !== 'negative') throw new PorchlightError('BAD_INPUT', "a face's kind is 'positive' or 'negative'");
  if (typeof face.model !== 'string' || face.model.length === 0) throw new PorchlightError('BAD_INPUT', 'a face needs the model that made its embedding');
  const { embedding } = face;
  if (!embedding || embedding.length === 0) throw new PorchlightError('BAD_INPUT', 'a face needs a non-empty embedding');
  for (let i = 0; i < embedding.length; i++) {
    if (!Number.isFinite(embedding[i])) throw new PorchlightError('BAD_INPUT', 'an embedding must hold finite numbers only');
  }
}

/** An enrollment's name, list and notes, checked and cleaned, and its faces checked, before any write. */
export function checkEnrollment(
  name: string,
  faces: readonly NewFace[],
  options: { list?: PersonList; notes?: string },
): { name: string; list: PersonList | undefined; notes: string } {
  const checked = { name: normalizeName(name), list: options.list === undefined ? undefined : parseList(options.list), notes: normalizeNotes(options.notes) ?? '' };
  if (faces.length === 0) throw new PorchlightError('BAD_INPUT', 'nothing to enroll: no faces');
  faces.forEach(checkFace);
  return checked;
}

export function checkLabel(label: NewFaceLabel): void {
  if (label.verdict !== 'confirm' && label.verdict !== 'reject') throw new PorchlightError('BAD_INPUT', "a label's verdict is 'confirm' or 'reject'");
  if (typeof label.eventId !== 'string' || !label.eventId) throw new PorchlightError('BAD_INPUT', 'a label needs the event id');
  checkFace(label);
}

export function checkToleranceUpdates(updates: readonly ToleranceUpdate[]): void {
  for (const u of updates) {
    if (typeof u.model !== 'string' || !u.model) throw new PorchlightError('BAD_INPUT', 'a tolerance needs its model');
    if (u.tolerance !== null && !(typeof u.tolerance === 'number' && Number.isFinite(u.tolerance) && u.tolerance > 0)) {
      throw new PorchlightError('BAD_INPUT', 'a tolerance is a positive number, or null to clear it');
    }
  }
}

/** The DB already holds `stored`-d embeddings of this model: one size per model, the matcher keeps one matrix each. */
export function checkModelDim(model: string, stored: number | undefined, given: number): void {
  if (stored !== undefined && stored !== given) throw new PorchlightError('BAD_INPUT', `model ${model} makes ${stored}-d embeddings; this one has ${given}`);
}

export function notFoundPerson(ref: number | string): PorchlightError {
  return new PorchlightError('NOT_FOUND', `no person ${typeof ref === 'number' ? `with id ${ref}` : JSON.stringify(ref)}`);
}

export function wrongListError(name: string, list: PersonList, wanted: PersonList): PorchlightError {
  return new PorchlightError('CONFLICT', `${name} is on the ${list} list; move them before enrolling them as ${wanted}`);
}

export function nameTakenError(name: string): PorchlightError {
  return new PorchlightError('CONFLICT', `there is already a person named ${JSON.stringify(name)}`);
}

/** An update's fields, checked and cleaned before any write. */
export function checkPersonUpdate(update: PersonUpdate): { name?: string; list?: PersonList; notes?: string } {
  return {
    name: update.name === undefined ? undefined : normalizeName(update.name),
    list: update.list === undefined ? undefined : parseList(update.list),
    notes: normalizeNotes(update.notes),
  };
}

/** A store's change listeners. */
export class StoreListeners {
  private readonly listeners = new Set<StoreListener>();

  add(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells listeners after the commit; one faulty listener does not stop the others or the write. */
  emit(change: StoreChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the change is committed either way.
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
