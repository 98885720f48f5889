import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Store } from '../store/types';
import { euclidean } from '../vision/embedder';
import type { DistanceSamples } from './estimate';

/** The labelled history of one model as distances, for the household and per person. */
export interface History {
  model: string;
  all: DistanceSamples;
  /** Per person id: genuine pairs among their faces and confirmed labels; impostor pairs of anyone else's face with theirs, their negatives and rejected labels. */
  people: Map<number, { genuine: number[]; impostor: number[] }>;
  /** About one in this many cross-person pairs was compared (1 = all; above, random pairs up to `maxImpostorPairs`). */
  impostorStride: number;
  /** Per person id: their enrolled faces (photos) and their visits labelled "yes, that was them", the samples their genuine pairs come from. */
  samples: Map<number, PersonSamples>;
}

/** What one person's part of the history is made of, counted as a household counts it. */
export interface PersonSamples {
  faces: number;
  visits: number;
}

export interface HistoryOptions {
  /** Cap on cross-person pairs compared (a large DB is sampled at random); default 200,000. */
  maxImpostorPairs?: number;
}

interface Sample {
  personId: number;
  embedding: Float32Array;
}

/** A deterministic pseudo-random stream in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Distances computed between two yields to the event loop. */
const DISTANCES_PER_SLICE = 20_000;

/**
 * Reads the history of `model` from the store: every positive face paired
 * with every other (same person: genuine; different people: impostor, for
 * both of them), each negative example and rejected label against its
 * person's faces (impostor), each confirmed label against its person's faces
 * (genuine). Faces are compared pairwise like LFW's pairs, and in slices so a
 * large DB never holds the event loop for long.
 */
export async function collectHistory(store: Store, model: string, options: HistoryOptions = {}): Promise<History> {
  const positives: Sample[] = [];
  const negatives: Sample[] = [];
  for await (const page of store.embeddings(model)) {
    for (const row of page) (row.kind === 'negative' ? negatives : positives).push({ personId: row.personId, embedding: row.embedding });
  }
  const confirmed: Sample[] = [];
  const rejected: Sample[] = [];
  for (const label of await store.labels(model)) {
    const sample = { personId: label.personId, embedding: label.embedding };
    if (label.verdict === 'confirm') confirmed.push(sample);
    else if (label.faceId === null) rejected.push(sample); // a rejection with a stored negative is counted through the negative
  }

  const people = new Map<number, { genuine: number[]; impostor: number[] }>();
  const of = (personId: number) => {
    let entry = people.get(personId);
    if (!entry) people.set(personId, (entry = { genuine: [], impostor: [] }));
    return entry;
  };
  const all = { genuine: [] as number[], impostor: [] as number[] };
  const facesOf = new Map<number, Sample[]>();
  for (const face of positives) {
    of(face.personId);
    let list = facesOf.get(face.personId);
    if (!list) facesOf.set(face.personId, (list = []));
    list.push(face);
  }

  let crossPairs = 0;
  for (const list of facesOf.values()) crossPairs += list.length * (positives.length - list.length);
  crossPairs /= 2;
  const maxImpostorPairs = options.maxImpostorPairs ?? 200_000;
  const impostorStride = Math.max(1, Math.ceil(crossPairs / maxImpostorPairs));

  let sinceYield = 0;
  /** True once a slice of work is done: the caller yields. */
  const sliceDone = () => {
    if (++sinceYield < DISTANCES_PER_SLICE) return false;
    sinceYield = 0;
    return true;
  };
  const impostor = async (a: Sample, b: Sample) => {
    const distance = euclidean(a.embedding, b.embedding);
    all.impostor.push(distance);
    of(a.personId).impostor.push(distance);
    of(b.personId).impostor.push(distance);
    if (sliceDone()) await yieldToEventLoop();
  };

  for (const [personId, list] of facesOf) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const distance = euclidean(list[i].embedding, list[j].embedding);
        all.genuine.push(distance);
        of(personId).genuine.push(distance);
        if (sliceDone()) await yieldToEventLoop();
      }
    }
  }
  if (impostorStride === 1) {
    const groups = [...facesOf.values()];
    for (let p = 0; p < groups.length; p++) {
      for (let q = p + 1; q < groups.length; q++) {
        for (const a of groups[p]) for (const b of groups[q]) await impostor(a, b);
      }
    }
  } else {
    // Too many to compare all: as many random cross pairs as the cap allows, from a fixed seed so a suggestion can be reproduced.
    const next = seededRandom(1);
    let drawn = 0;
    while (drawn < maxImpostorPairs) {
      const a = positives[Math.floor(next() * positives.length)];
      const b = positives[Math.floor(next() * positives.length)];
      if (a.personId === b.personId) continue;
      drawn++;
      await impostor(a, b);
    }
  }
  const againstOwnFaces = async (samples: readonly Sample[], into: 'genuine' | 'impostor') => {
    for (const sample of samples) {
      for (const face of facesOf.get(sample.personId) ?? []) {
        const distance = euclidean(sample.embedding, face.embedding);
        all[into].push(distance);
        of(sample.personId)[into].push(distance);
        if (sliceDone()) await yieldToEventLoop();
      }
    }
  };
  await againstOwnFaces(confirmed, 'genuine');
  await againstOwnFaces(negatives, 'impostor');
  await againstOwnFaces(rejected, 'impostor');
  const samples = new Map<number, PersonSamples>();
  for (const [personId, list] of facesOf) samples.set(personId, { faces: list.length, visits: 0 });
  for (const label of confirmed) {
    const entry = samples.get(label.personId);
    if (entry) entry.visits++; // a visit of someone with no face left compares with nothing
  }
  return { model, all, people, impostorStride, samples };
}
