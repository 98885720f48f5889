import { PorchlightError } from '../errors';
import { createMatrix, type EmbeddingMatrix, type KernelChoice } from './matrix';

/**
 * `euclidean`: L2 distance (face-api's 128-d descriptor, tolerance 0.6).
 * `cosine`: 1 - cos(a, b), for ArcFace-style recognizers.
 */
export type Metric = 'euclidean' | 'cosine';

export interface Neighbour {
  personId: number;
  faceId: number;
  distance: number;
}

/**
 * Every embedding of one model in one contiguous matrix, with the closest face
 * per person found in a single scan. Rows are kept dense: removing a row moves
 * the last row into its place.
 *
 * Both metrics come from one dot product per row: |a-b|^2 = |a|^2 + |b|^2 - 2 a.b
 * with |b|^2 precomputed, and cos = a.b / (|a| |b|) with 1/|b| precomputed.
 */
export class ModelIndex {
  private readonly matrix: EmbeddingMatrix;
  private capacity = 0;
  private count = 0;
  /** Per row: |b|^2 (euclidean) or 1/|b| (cosine). */
  private rowTerm = new Float32Array(0);
  private rowFace = new Int32Array(0);
  private rowSlot = new Int32Array(0);
  private readonly rowOfFace = new Map<number, number>();
  // People get dense slots so that a scan keeps the best row per person in flat arrays.
  private slotPerson: number[] = [];
  private slotRows: number[] = [];
  private readonly slotOfPerson = new Map<number, number>();
  private readonly freeSlots: number[] = [];

  constructor(readonly model: string, readonly dim: number, readonly metric: Metric, kernel: KernelChoice = 'auto') {
    this.matrix = createMatrix(dim, kernel);
  }

  get size(): number {
    return this.count;
  }

  /** How many people have at least one row. */
  get people(): number {
    return this.slotOfPerson.size;
  }

  /** How many rows (faces) each person with at least one has, in no particular order. */
  rowsPerPerson(): number[] {
    return [...this.slotOfPerson.values()].map((slot) => this.slotRows[slot]);
  }

  get kernel(): EmbeddingMatrix['kernel'] {
    return this.matrix.kernel;
  }

  has(faceId: number): boolean {
    return this.rowOfFace.has(faceId);
  }

  /** Adds a face; a face already present is left as it is. */
  add(faceId: number, personId: number, embedding: Float32Array): void {
    if (embedding.length !== this.dim) {
      throw new PorchlightError('BAD_INPUT', `model ${this.model} has ${this.dim}-d embeddings, got ${embedding.length}`);
    }
    if (this.rowOfFace.has(faceId)) return;
    if (this.count === this.capacity) this.grow(Math.max(64, this.capacity * 2));
    const row = this.count++;
    this.matrix.setRow(row, embedding);
    let squared = 0;
    for (let j = 0; j < embedding.length; j++) squared += embedding[j] * embedding[j];
    this.rowTerm[row] = this.metric === 'euclidean' ? squared : squared > 0 ? 1 / Math.sqrt(squared) : 0;
    this.rowFace[row] = faceId;
    this.rowSlot[row] = this.slotFor(personId);
    this.rowOfFace.set(faceId, row);
  }

  remove(faceId: number): boolean {
    const row = this.rowOfFace.get(faceId);
    if (row === undefined) return false;
    this.rowOfFace.delete(faceId);
    this.releaseSlot(this.rowSlot[row]);
    const last = --this.count;
    if (row !== last) {
      this.matrix.copyRow(last, row);
      this.rowTerm[row] = this.rowTerm[last];
      this.rowFace[row] = this.rowFace[last];
      this.rowSlot[row] = this.rowSlot[last];
      this.rowOfFace.set(this.rowFace[row], row);
    }
    return true;
  }

  /**
   * The closest face of each of the `k` closest people, closest first. A person
   * in `refuse` (person id -> distance of their nearest negative example) is
   * left out when that distance is smaller than their closest face's.
   */
  nearest(query: Float32Array, k: number, refuse?: ReadonlyMap<number, number>): Neighbour[] {
    if (query.length !== this.dim) {
      throw new PorchlightError('BAD_INPUT', `model ${this.model} has ${this.dim}-d embeddings, got a ${query.length}-d query`);
    }
    if (this.count === 0 || k <= 0) return [];
    let querySquared = 0;
    for (let j = 0; j < query.length; j++) querySquared += query[j] * query[j];
    const dots = this.matrix.dotAll(query, this.count);

    // A score per row that orders like the distance: |b|^2 - 2 a.b, or -cos * |a|.
    const slots = this.slotPerson.length;
    const bestScore = new Float32Array(slots).fill(Infinity);
    const bestRow = new Int32Array(slots);
    const { rowTerm, rowSlot } = this;
    const euclidean = this.metric === 'euclidean';
    for (let r = 0; r < this.count; r++) {
      const score = euclidean ? rowTerm[r] - 2 * dots[r] : -dots[r] * rowTerm[r];
      const slot = rowSlot[r];
      if (score < bestScore[slot]) {
        bestScore[slot] = score;
        bestRow[slot] = r;
      }
    }

    const queryNorm = Math.sqrt(querySquared);
    if (refuse) {
      // The negative's distance in the scan's score units (the inverse of toDistance below).
      for (const [personId, negativeDistance] of refuse) {
        const slot = this.slotOfPerson.get(personId);
        if (slot === undefined) continue;
        const negativeScore = euclidean ? negativeDistance * negativeDistance - querySquared : (negativeDistance - 1) * queryNorm;
        if (negativeScore < bestScore[slot]) bestScore[slot] = Infinity;
      }
    }
    const toDistance = (score: number) =>
      euclidean ? Math.sqrt(Math.max(0, querySquared + score)) : queryNorm > 0 ? 1 + score / queryNorm : 1;
    return topSlots(bestScore, k).map((slot) => ({
      personId: this.slotPerson[slot],
      faceId: this.rowFace[bestRow[slot]],
      distance: toDistance(bestScore[slot]),
    }));
  }

  /**
   * Calls `visit` with every row's face and its distance to `query`, in one
   * scan of the matrix: for callers that group rows their own way (the
   * visitor clusters average over a cluster, "find this face" keeps the best per event).
   */
  forEachDistance(query: Float32Array, visit: (faceId: number, distance: number) => void): void {
    if (query.length !== this.dim) {
      throw new PorchlightError('BAD_INPUT', `model ${this.model} has ${this.dim}-d embeddings, got a ${query.length}-d query`);
    }
    if (this.count === 0) return;
    let querySquared = 0;
    for (let j = 0; j < query.length; j++) querySquared += query[j] * query[j];
    const queryNorm = Math.sqrt(querySquared);
    const dots = this.matrix.dotAll(query, this.count);
    const euclidean = this.metric === 'euclidean';
    for (let r = 0; r < this.count; r++) {
      const distance = euclidean
        ? Math.sqrt(Math.max(0, querySquared + this.rowTerm[r] - 2 * dots[r]))
        : queryNorm > 0 ? 1 - (dots[r] * this.rowTerm[r]) / queryNorm : 1;
      visit(this.rowFace[r], distance);
    }
  }

  private grow(capacity: number): void {
    this.matrix.reserve(capacity);
    const resize = <T extends Float32Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const grown = make(capacity);
      grown.set(old);
      return grown;
    };
    this.rowTerm = resize(this.rowTerm, (n) => new Float32Array(n));
    this.rowFace = resize(this.rowFace, (n) => new Int32Array(n));
    this.rowSlot = resize(this.rowSlot, (n) => new Int32Array(n));
    this.capacity = capacity;
  }

  private slotFor(personId: number): number {
    let slot = this.slotOfPerson.get(personId);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.slotPerson.length;
      this.slotPerson[slot] = personId;
      this.slotRows[slot] = 0;
      this.slotOfPerson.set(personId, slot);
    }
    this.slotRows[slot]++;
    return slot;
  }

  private releaseSlot(slot: number): void {
    if (--this.slotRows[slot] > 0) return;
    this.slotOfPerson.delete(this.slotPerson[slot]);
    this.freeSlots.push(slot);
  }
}

/** Indices of the k smallest finite scores, smallest first, without sorting them all. */
function topSlots(scores: Float32Array, k: number): number[] {
  if (k > 32) {
    const all: number[] = [];
    for (let slot = 0; slot < scores.length; slot++) if (scores[slot] !== Infinity) all.push(slot);
    return all.sort((a, b) => scores[a] - scores[b]).slice(0, k);
  }
  const chosen: number[] = [];
  for (let slot = 0; slot < scores.length; slot++) {
    const score = scores[slot];
    if (score === Infinity) continue; // a free slot
    if (chosen.length >= k && score >= scores[chosen[chosen.length - 1]]) continue;
    let at = chosen.length;
    while (at > 0 && scores[chosen[at - 1]] > score) at--;
    chosen.splice(at, 0, slot);
    if (chosen.length > k) chosen.pop();
  }
  return chosen;
}
