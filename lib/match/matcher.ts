import { PorchlightError } from '../errors';
import type { EmbeddingRow, FaceStore, PersonLabel, PersonList, StoreChange } from '../store/types';
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
 */
export class Matcher {
  private indexes = new Map<string, ModelIndex>();
  private people = new Map<number, PersonLabel>();
  private modelOfFace = new Map<number, string>();

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

  add(person: PersonLabel, rows: readonly EmbeddingRow[]): void {
    this.setPerson(person);
    for (const row of rows) {
      let index = this.indexes.get(row.model);
      if (!index) {
        index = new ModelIndex(row.model, row.embedding.length, this.metricOf(row.model), this.options.kernel);
        this.indexes.set(row.model, index);
      }
      index.add(row.faceId, row.personId, row.embedding);
      this.modelOfFace.set(row.faceId, row.model);
    }
  }

  removeFaces(faceIds: readonly number[]): void {
    for (const faceId of faceIds) {
      const model = this.modelOfFace.get(faceId);
      if (model === undefined) continue;
      this.indexes.get(model)?.remove(faceId);
      this.modelOfFace.delete(faceId);
    }
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
      case 'reset':
        break; // handled by attachMatcher, which reloads from the store
    }
  }

  /**
   * The `k` closest people to `embedding` among the faces of `model`, each with
   * the distance of their closest face, closest first. Other models' embeddings
   * are never compared.
   */
  nearest(embedding: Float32Array | readonly number[], model: string, k = 5): Match[] {
    const index = this.indexes.get(model);
    if (!index) return [];
    const query = embedding instanceof Float32Array ? embedding : Float32Array.from(embedding);
    for (let j = 0; j < query.length; j++) {
      if (!Number.isFinite(query[j])) throw new PorchlightError('BAD_INPUT', 'an embedding must hold finite numbers only');
    }
    return index.nearest(query, k).map((n) => {
      const person = this.people.get(n.personId);
      return { personId: n.personId, name: person?.name ?? '', list: person?.list ?? 'known', distance: n.distance, faceId: n.faceId };
    });
  }

  /** Replaces this matcher's contents with another's (a reload built aside, swapped in at once). */
  replaceWith(other: Matcher): void {
    this.indexes = other.indexes;
    this.people = other.people;
    this.modelOfFace = other.modelOfFace;
  }
}

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
export function attachMatcher(store: FaceStore, options: MatcherOptions = {}): AttachedMatcher {
  const matcher = new Matcher(options);
  let pending: StoreChange[] | null = null;
  let detached = false;

  const load = async (): Promise<void> => {
    pending = [];
    try {
      const fresh = new Matcher(options);
      const people = new Map((await store.listPeople()).map((p) => [p.id, p]));
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
