import type { Store } from '../store/types';
import { embedFaces, type EmbedRequest } from './client';
import { modelIdForSelection, type EngineSelection } from './select';
import type { WorkerPool } from '../workers/pool';
import { PorchlightError } from '../errors';

/** A new embedding for one stored crop, or undefined when no face is found in it. */
export type CropEmbedder = (crop: Uint8Array) => Promise<{ embedding: Float32Array; model: string; quality?: number } | undefined>;

export interface ReembedProgress {
  total: number;
  done: number;
  added: number;
  /** Faces stored without a crop: nothing to re-embed from. */
  noCrop: number;
  /** Crops in which the new pipeline found no face. */
  noFace: number;
}

export interface ReembedOptions {
  /** The model id the new embeddings will carry (see `modelIdForSelection` in lib/engine/select.ts). */
  model: string;
  embed: CropEmbedder;
  onProgress?(progress: ReembedProgress): void;
  signal?: AbortSignal;
}

/** Embeds a stored crop on the worker pool with the given pipeline, keeping its largest face. */
export function poolCropEmbedder(pool: WorkerPool, request: EmbedRequest): CropEmbedder {
  return async (crop) => {
    // Crops are tight, so any face is accepted and the largest is the one the crop was cut around.
    const result = await embedFaces(pool, crop, { ...request, options: { ...request.options, minFaceSize: 0 }, policy: 'wait' });
    const face = result.faces
      .filter((f) => f.embedding && f.model)
      .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
    return face ? { embedding: face.embedding!, model: face.model!, quality: face.quality.score } : undefined;
  };
}

/**
 * Re-embeds every stored face crop with another recognizer after a model
 * switch. Each new embedding is added beside the old one, for the same
 * person, tagged with the new model and with `metadata.reembeddedFrom`, so
 * the old model keeps working if the user switches back and a second run
 * (after an interruption) only does what is left.
 */
export async function reembedStore(store: Store, options: ReembedOptions): Promise<ReembedProgress> {
  const people = new Map((await store.listPeople()).map((p) => [p.id, p]));
  const faces = await store.listFaces();
  const done = new Set(faces.filter((f) => f.model === options.model).map((f) => Number(f.metadata.reembeddedFrom)));
  const todo = faces.filter((f) => f.model !== options.model && !done.has(f.id));
  const progress: ReembedProgress = { total: todo.length, done: 0, added: 0, noCrop: 0, noFace: 0 };
  options.onProgress?.({ ...progress });
  for (const record of todo) {
    options.signal?.throwIfAborted();
    const face = await store.getFace(record.id);
    const person = people.get(record.personId);
    if (face?.crop && person) {
      const embedded = await options.embed(face.crop);
      if (embedded && embedded.model !== options.model) {
        throw new PorchlightError('BAD_CONFIG', `the pipeline embeds with ${embedded.model}, not ${options.model}`);
      }
      if (embedded) {
        await store.enroll(
          person.name,
          [
            {
              kind: face.kind,
              model: embedded.model,
              embedding: embedded.embedding,
              quality: embedded.quality ?? face.quality,
              crop: face.crop,
              source: face.source,
              metadata: { ...face.metadata, reembeddedFrom: face.id },
            },
          ],
          { list: person.list },
        );
        progress.added++;
      } else {
        progress.noFace++;
      }
    } else if (face) {
      progress.noCrop++;
    }
    progress.done++;
    options.onProgress?.({ ...progress });
  }
  return progress;
}

/**
 * What face-db's `reembed` action runs: every stored crop re-embedded with
 * the engine's current selection (the pipeline face-recognize uses), so the
 * DB matches again after a recognizer switch.
 */
export function reembedForSelection(
  store: Store,
  pool: WorkerPool,
  selection: Pick<EngineSelection, 'detector' | 'detectorConfig' | 'recognizer' | 'recognizerConfig'>,
  options: Pick<ReembedOptions, 'onProgress' | 'signal'> & { maxPixels?: number } = {},
): Promise<ReembedProgress> {
  const { detector, detectorConfig, recognizer, recognizerConfig } = selection;
  return reembedStore(store, {
    model: modelIdForSelection(selection),
    embed: poolCropEmbedder(pool, { detector, detectorConfig, recognizer, recognizerConfig, maxPixels: options.maxPixels }),
    onProgress: options.onProgress,
    signal: options.signal,
  });
}
