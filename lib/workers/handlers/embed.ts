import { performance } from 'node:perf_hooks';
import type { Embedder } from '../../vision/embedder';
import type { AnalyzeResult } from '../../vision/embedding-types';
import { analyzeFaces } from '../../vision/pipeline';
import { createEmbedder } from '../../vision/recognizers';
import type { EmbedTask } from '../tasks';
import { decodeInput, loadDetector } from './detect';

/** Longest image side decoded when the faces are given and no detector says otherwise. */
const GIVEN_FACES_MAX_SIDE = 1280;

const embedders = new Map<string, Promise<Embedder>>();

/** The thread's embedders by recognizer and config, each loaded once. */
function loadEmbedder(name: string | undefined, config: Record<string, unknown> = {}): Promise<Embedder> {
  const key = `${name}:${JSON.stringify(config)}`;
  let loading = embedders.get(key);
  if (!loading) {
    loading = createEmbedder(name, config);
    loading.catch(() => embedders.delete(key));
    embedders.set(key, loading);
  }
  return loading;
}

/** An embed task on this worker thread: its image decoded, its models loaded once, the face pipeline (lib/vision/pipeline.ts) run. */
export async function runEmbed(task: EmbedTask): Promise<AnalyzeResult> {
  const t0 = performance.now();
  const loadingEmbedder = loadEmbedder(task.recognizer, task.recognizerConfig);
  const created = task.faces ? undefined : await loadDetector(task.detector, task.detectorConfig);
  const maxSide = created?.detector.preferredMaxSide ?? GIVEN_FACES_MAX_SIDE;
  const { image, scale, width, height } = await decodeInput(task.image, maxSide, task.limits);
  const t1 = performance.now();
  const embedder = await loadingEmbedder;
  const { secondDetector } = task;
  const analyzed = await analyzeFaces(
    image,
    {
      embedder,
      detector: created?.detector,
      secondDetector: secondDetector ? async () => (await loadDetector(secondDetector, {})).detector : undefined,
    },
    { detect: task.options, scale, faces: task.faces, flip: task.flip, minQuality: task.minQuality, cropSize: task.cropSize },
  );
  const t2 = performance.now();
  return {
    faces: analyzed.faces,
    width,
    height,
    detector: analyzed.detector,
    fallbackWarning: created?.warning,
    // Waiting for the embedder to load counts as detection time, as the detector's own loading does.
    timings: { decodeMs: t1 - t0, detectMs: t2 - t1 - analyzed.timings.embedMs - analyzed.timings.cropMs, embedMs: analyzed.timings.embedMs, totalMs: t2 - t0 },
  };
}
