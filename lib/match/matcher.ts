import { PorchlightError } from '../errors';
import type { CalibratedTolerance, EmbeddingRow, Store, PersonLabel, PersonList, StoreChange } from '../store/types';
import { availableKernel, type KernelChoice } from './matrix';
import { ModelIndex, type Metric } from './model-index';

export interface Match {
  personId: number;
  name: string;
  list: PersonList;
  /** Euclidean distance, or cosine distance (1 - cos) for cosine models. */
  distance: number;
  /** The person's closest stored face. */
  faceId: number;
  /** The tolerance calibrated for this person (or DB-wide) for the model, when there is one: it takes precedence over the node's. */
  tolerance?: number;
}

export interface MatcherOptions {
  /** Metric per model id; models not listed get DEFAULT_METRIC. */
  metrics?: Record<string, Metric>;
  /** `js` forces the plain JavaScript scan (tests compare it with the SIMD one). */
  kernel?: KernelChoice;
}

/**
 * Euclidean for every model unless `metrics` says otherwise: the tolerances the
 * engine picks are Euclidean (0.6 for face-api's descriptor, 1.15 for the
 * unit-length ONNX embeddings; on unit vectors the Euclidean distance is
 * sqrt(2 x the cosine distance), so the order of matches is the same).
 */
export const DEFAULT_METRIC: Metric = 'euclidean';

/**
 * In-memory nearest-neighbour search over every stored embedding, one matrix
 * per model. Fed by a store's change events (see `attachMatcher`), so an
 * enrollment, a rename or a forget is visible to the very next query.
 *
 * Negative examples ("that is not X") sit in a second, small matrix per model.
 * The rule: X is refused for a face that is closer to X's nearest negative
 * than to X's nearest positive; the next-best person (or nobody) takes its
 * place. With no negatives a query costs exactly what it did before.
 */
export class Matcher {
  private indexes = new Map<string, ModelIndex>();
  private negatives = new Map<string, ModelIndex>();
  private people = new Map<number, PersonLabel>();
  private modelOfFace = new Map<number, string>();
  /** Calibrated tolerances by `toleranceKey`. */
  private calibrated = new Map<string, number>();

  constructor(private readonly options: MatcherOptions = {}) {}

  metricOf(model: string): Metric {
    return this.options.metrics?.[model] ?? DEFAULT_METRIC;
  }

  /** Number of embeddings held, for one model or all. */
  size(model?: string): number {
    if (model !== undefined) return this.indexes.get(model)?.size ?? 0;
    let total = 0;
    for (const index of this.indexes.values()) total += index.size;
    return total;
  }

  /** The photos (positive embeddings) of each person enrolled for `model`: the gallery a stranger is matched against. */
  photosPerPerson(model: string): number[] {
    return this.indexes.get(model)?.rowsPerPerson() ?? [];
  }

  models(): string[] {
    return [...this.indexes.keys()].filter((m) => this.size(m) > 0);
  }

  /** `wasm-simd` or `js`: which scan this process uses. */
  kernel(): string {
    return this.options.kernel === 'js' ? 'js' : availableKernel();
  }

  setPerson(person: PersonLabel): void {
    this.people.set(person.id, { id: person.id, name: person.name, list: person.list });
  }

  /** Number of negative examples held, for one model or all. */
  negativeCount(model?: string): number {
    if (model !== undefined) return this.negatives.get(model)?.size ?? 0;
    let total = 0;
    for (const index of this.negatives.values()) total += index.size;
    return total;
  }

  add(person: PersonLabel, rows: readonly EmbeddingRow[]): void {
    this.setPerson(person);
    for (const row of rows) {
      const indexes = row.kind === 'negative' ? this.negatives : this.indexes;
      let index = indexes.get(row.model);
      if (!index) {
        index = new ModelIndex(row.model, row.embedding.length, this.metricOf(row.model), this.options.kernel);
        indexes.set(row.model, index);
      }
      index.add(row.faceId, row.personId, row.embedding);
      this.modelOfFace.set(row.faceId, row.model);
    }
  }

  removeFaces(faceIds: readonly number[]): void {
    for (const faceId of faceIds) {
      const model = this.modelOfFace.get(faceId);
      if (model === undefined) continue;
      if (!this.indexes.get(model)?.remove(faceId)) this.negatives.get(model)?.remove(faceId);
      this.modelOfFace.delete(faceId);
    }
  }

  /** Replaces the calibrated tolerances with `tolerances` (the whole set in force). */
  setTolerances(tolerances: readonly CalibratedTolerance[]): void {
    this.calibrated = new Map(tolerances.map((t) => [toleranceKey(t.model, t.personId), t.tolerance]));
  }

  /** The calibrated tolerance for a person's matches of `model`: the person's own, else the DB-wide one, else none. */
  calibratedTolerance(model: string, personId: number): number | undefined {
    return this.calibrated.get(toleranceKey(model, personId)) ?? this.calibrated.get(toleranceKey(model, null));
  }

  /** True when some tolerance of `model` is calibrated (for status lines). */
  hasCalibration(model?: string): boolean {
    if (model === undefined) return this.calibrated.size > 0;
    for (const key of this.calibrated.keys()) if (key.startsWith(`${model}\0`)) return true;
    return false;
  }

  /** Keeps the matcher in step with one store change. */
  apply(change: StoreChange): void {
    switch (change.type) {
      case 'faces-added':
        this.add(change.person, change.faces);
        break;
      case 'faces-removed':
        this.removeFaces(change.faceIds);
        break;
      case 'person-updated':
        this.setPerson(change.person);
        break;
      case 'person-removed':
        this.removeFaces(change.faceIds);
        this.people.delete(change.personId);
        break;
      case 'tolerances-changed':
        this.setTolerances(change.tolerances);
        break;
      case 'reset':
        break; // handled by attachMatcher, which reloads from the store
    }
  }

  /**
   * The `k` closest people to `embedding` among the faces of `model`, each with
   * the distance of their closest face, closest first. Other models' embeddings
   * are never compared. A person the face is closer to a negative example of
   * than to their own faces is left out.
   */
  nearest(embedding: Float32Array | readonly number[], model: string, k = 5): Match[] {
    const index = this.indexes.get(model);
    if (!index) return [];
    const query = embedding instanceof Float32Array ? embedding : Float32Array.from(embedding);
    for (let j = 0; j < query.length; j++) {
      if (!Number.isFinite(query[j])) throw new PorchlightError('BAD_INPUT', 'an embedding must hold finite numbers only');
    }
    // The negatives' own small scan first: each corrected person's nearest negative, which the main scan then weighs.
    const negatives = this.negatives.get(model);
    const refuse = negatives?.size ? new Map(negatives.nearest(query, negatives.people).map((n) => [n.personId, n.distance])) : undefined;
    return index.nearest(query, k, refuse).map((n) => {
      const person = this.people.get(n.personId);
      const match: Match = { personId: n.personId, name: person?.name ?? '', list: person?.list ?? 'known', distance: n.distance, faceId: n.faceId };
      const tolerance = this.calibratedTolerance(model, n.personId);
      if (tolerance !== undefined) match.tolerance = tolerance;
      return match;
    });
  }

  /** Replaces this matcher's contents with another's (a reload built aside, swapped in at once). */
  replaceWith(other: Matcher): void {
    this.indexes = other.indexes;
    this.negatives = other.negatives;
    this.calibrated = other.calibrated;
    this.people = other.people;
    this.modelOfFace = other.modelOfFace;
  }
}

const toleranceKey = (model: string, personId: number | null) => `${model}\0${personId ?? ''}`;

export interface AttachedMatcher {
  matcher: Matcher;
  /** Resolves when the current (re)load from the store is complete. */
  ready: Promise<void>;
  /** Stops following the store. */
  detach(): void;
}

/**
 * A matcher loaded from the store and kept in step with it. Loading pages
 * through the store so a large DB does not block the event loop; changes
 * that arrive meanwhile are applied to the live matcher and replayed on the
 * fresh one before it is swapped in (adds and removes are idempotent).
 */
export function attachMatcher(store: Store, options: MatcherOptions = {}): AttachedMatcher {
  const matcher = new Matcher(options);
  let pending: StoreChange[] | null = null;
  let detached = false;

  const load = async (): Promise<void> => {
    pending = [];
    try {
      const fresh = new Matcher(options);
      const people = new Map((await store.listPeople()).map((p) => [p.id, p]));
      fresh.setTolerances(await store.tolerances());
      for await (const page of store.embeddings()) {
        for (const row of page) {
          const person = people.get(row.personId);
          if (person) fresh.add(person, [row]);
        }
      }
      for (const change of pending) fresh.apply(change);
      if (!detached) matcher.replaceWith(fresh);
    } finally {
      pending = null;
    }
  };

  // A failed load must not become an unhandled rejection: whoever awaits `ready` sees it.
  const reload = () => {
    const loading = load();
    loading.catch(() => undefined);
    return loading;
  };
  let ready = reload();
  const unsubscribe = store.onChange((change) => {
    if (change.type === 'reset') {
      ready = ready.catch(() => undefined).then(reload);
      attached.ready = ready;
      return;
    }
    matcher.apply(change);
    pending?.push(change);
  });
  const attached: AttachedMatcher = {
    matcher,
    ready,
    detach() {
      detached = true;
      unsubscribe();
    },
  };
  return attached;
}
