import fs from 'node:fs';
import handle from '../../lib/workers/worker';
import type { WorkerEnvelope, WorkerReply } from '../../lib/workers/pool';

/**
 * The real worker (lib/workers/worker.ts) with one fault that a model file
 * cannot produce on demand: a detect task whose detector config names a
 * `failWhile` file answers an inference error while that file exists (an
 * onnxruntime session that throws at every run). Everything else, and that
 * task once the file is gone, runs the real pipeline.
 */
export default async function failingWorker(envelope: WorkerEnvelope): Promise<WorkerReply<unknown>> {
  const task = envelope.task as { type?: string; detectorConfig?: Record<string, unknown> };
  const flag = task.detectorConfig?.failWhile;
  if (typeof flag !== 'string') return handle(envelope);
  if (task.type === 'detect' && fs.existsSync(flag)) {
    return { ok: false, error: { code: 'INTERNAL', message: 'Non-zero status code returned while running Conv node (the test\'s failing backend)' } };
  }
  const { failWhile: _flag, ...detectorConfig } = task.detectorConfig!;
  return handle({ ...envelope, task: { ...task, detectorConfig } });
}
