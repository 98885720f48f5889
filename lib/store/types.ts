/**
 * The face DB contract. Nodes talk to a `Store`, never to SQLite, so that
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
  /** Positive faces only (negative examples are not the person's faces). */
  faceCount: number;
}

/**
 * `positive`: a face of the person, matched against. `negative`: a face the
 * user said is NOT this person ("not X"); the matcher refuses the person for a
 * face closer to one of their negatives than to their positives.
 */
export type FaceKind = 'positive' | 'negative';

export interface FaceRecord {
  id: number;
  personId: number;
  kind: FaceKind;
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
  /** Default `positive`. */
  kind?: FaceKind;
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
  /** Absent means `positive`. */
  kind?: FaceKind;
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
  /** The calibrated tolerances now in force (the whole set). */
  | { type: 'tolerances-changed'; tolerances: CalibratedTolerance[] }
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

/**
 * A tolerance calibrated from the household's history: for one
 * person, or DB-wide (`personId` null), for one model. Precedence when
 * matching: the person's, then the DB-wide one, then the node's own setting.
 */
export interface CalibratedTolerance {
  model: string;
  personId: number | null;
  tolerance: number;
  /** The false-accept rate it was calibrated for, when it came from a suggestion. */
  targetFar: number | null;
  updatedAt: number;
}

/** Sets (`tolerance` a number) or clears (`null`) one calibrated tolerance. */
export interface ToleranceUpdate {
  model: string;
  personId: number | null;
  tolerance: number | null;
}

/** One line of the record of what calibration changed, and who changed it. */
export interface ToleranceChange {
  id: number;
  changedAt: number;
  actor: string;
  model: string;
  personId: number | null;
  personName: string | null;
  oldTolerance: number | null;
  newTolerance: number | null;
  targetFar: number | null;
}

/** `confirm`: "yes, that is X". `reject`: "that is not X". */
export type LabelVerdict = 'confirm' | 'reject';

/** A user's label on a face seen in an event, kept with the face's embedding (the calibration's history). */
export interface NewFaceLabel {
  eventId: string;
  /** The face's row in the event log, when known. */
  eventFaceId?: number | null;
  /** The person the match named (X). */
  personId: number;
  verdict: LabelVerdict;
  /** "It is Y": the person the face was enrolled under instead. */
  correctedPersonId?: number | null;
  /** The face stored for this label: X's negative example, or Y's new face. */
  faceId?: number | null;
  model: string;
  embedding: Float32Array | readonly number[];
  /** The match's distance when the label was given. */
  distance?: number | null;
  actor?: string;
  createdAt?: number;
}

export interface FaceLabel extends Required<Omit<NewFaceLabel, 'embedding'>> {
  id: number;
  embedding: Float32Array;
}

export interface Store {
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
  /** Deletes one face; given `personId`, only if it is that person's (NOT_FOUND otherwise, nothing deleted). */
  removeFace(faceId: number, personId?: number): Promise<FaceRecord>;
  models(): Promise<ModelSummary[]>;
  /** Every stored embedding (of one model, or all), in pages so that a large DB never blocks the event loop for long. */
  embeddings(model?: string, pageSize?: number): AsyncIterable<EmbeddingRow[]>;

  /** Records a label; a `reject` label's negative face is enrolled separately (`enroll` with `kind: 'negative'`). */
  addLabel(label: NewFaceLabel): Promise<FaceLabel>;
  /** Labels, oldest first (of one model, or all). */
  labels(model?: string): Promise<FaceLabel[]>;
  /** The calibrated tolerances in force (of one model, or all). */
  tolerances(model?: string): Promise<CalibratedTolerance[]>;
  /** Applies the updates in one transaction and records each change that altered something. */
  setTolerances(updates: readonly ToleranceUpdate[], meta: { actor: string; targetFar?: number | null }): Promise<ToleranceChange[]>;
  /** The record of tolerance changes, newest first. */
  toleranceHistory(limit?: number): Promise<ToleranceChange[]>;

  /** A consistent copy of the whole DB into `file`, taken while the DB stays in use. */
  backup(file: string): Promise<void>;

  onChange(listener: StoreListener): () => void;
  close(): Promise<void>;
}
