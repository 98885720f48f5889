/**
 * The face DB contract. Nodes talk to a `FaceStore`, never to SQLite, so that
 * another backend (PostgreSQL for many doors sharing one DB) can be added
 * without touching them. Every method is async for that reason, even though
 * the SQLite implementation answers synchronously.
 */
export type PersonList = 'known' | 'blacklist';

export const PERSON_LISTS: readonly PersonList[] = ['known', 'blacklist'];

/** A person is named by its numeric id or by its (case-insensitive) name. */
export type PersonRef = number | string;

export interface Person {
  id: number;
  name: string;
  list: PersonList;
  notes: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  faceCount: number;
}

export interface FaceRecord {
  id: number;
  personId: number;
  /** The model that made the embedding; embeddings of different models are never compared. */
  model: string;
  dim: number;
  quality: number | null;
  source: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
}

export interface FaceWithData extends FaceRecord {
  embedding: Float32Array;
  crop: Buffer | null;
}

export interface NewFace {
  model: string;
  embedding: Float32Array | readonly number[];
  quality?: number | null;
  /** JPEG crop of the face. */
  crop?: Uint8Array | null;
  /** Where it came from: a file name, `event:<id>`, `http`, ... */
  source?: string | null;
  metadata?: Record<string, unknown>;
  createdAt?: number;
}

/** One matchable row: what the in-memory matcher needs from a stored face. */
export interface EmbeddingRow {
  faceId: number;
  personId: number;
  model: string;
  embedding: Float32Array;
}

/** The identity the matcher reports for a person. */
export interface PersonLabel {
  id: number;
  name: string;
  list: PersonList;
}

/** What changed, emitted after each committed write so that matchers stay in step. */
export type StoreChange =
  | { type: 'faces-added'; person: PersonLabel; faces: EmbeddingRow[] }
  | { type: 'faces-removed'; faceIds: number[] }
  | { type: 'person-updated'; person: PersonLabel }
  | { type: 'person-removed'; personId: number; faceIds: number[] }
  /** Many rows changed at once (an import that replaced the DB): reload everything. */
  | { type: 'reset' };

export type StoreListener = (change: StoreChange) => void;

export interface EnrollResult {
  person: Person;
  /** True when this enrollment created the person. */
  created: boolean;
  faceIds: number[];
}

export interface PersonUpdate {
  name?: string;
  list?: PersonList;
  notes?: string;
}

export interface ModelSummary {
  model: string;
  dim: number;
  faces: number;
}

export interface FaceStore {
  /** `sqlite`, later `postgres`. */
  readonly backend: string;
  /** A file path or a connection description without secrets, for status and logs. */
  readonly location: string;

  listPeople(): Promise<Person[]>;
  getPerson(ref: PersonRef): Promise<Person | undefined>;
  /**
   * Adds faces to a person, creating the person (on `list`, default known) when
   * the name is new, all in one transaction. Refuses a `list` that differs from
   * an existing person's list: moving someone is an explicit act.
   */
  enroll(name: string, faces: readonly NewFace[], options?: { list?: PersonList; notes?: string }): Promise<EnrollResult>;
  /** Rename, move between lists, edit notes. */
  updatePerson(ref: PersonRef, update: PersonUpdate): Promise<Person>;
  /** Deletes the person with every face, crop and embedding. */
  forget(ref: PersonRef): Promise<{ person: Person; facesRemoved: number }>;

  listFaces(ref?: PersonRef): Promise<FaceRecord[]>;
  getFace(faceId: number): Promise<FaceWithData | undefined>;
  removeFace(faceId: number): Promise<FaceRecord>;
  models(): Promise<ModelSummary[]>;
  /** Every stored embedding (of one model, or all), in pages so that a large DB never blocks the event loop for long. */
  embeddings(model?: string, pageSize?: number): AsyncIterable<EmbeddingRow[]>;

  /** A consistent copy of the whole DB into `file`, taken while the DB stays in use. */
  backup(file: string): Promise<void>;

  onChange(listener: StoreListener): () => void;
  close(): Promise<void>;
}
