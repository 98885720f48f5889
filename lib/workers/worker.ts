import { threadId } from 'node:worker_threads';
import { toWireError } from '../errors';
import { closeModelFiles } from '../vision/onnx/runtime';
import { runDetect } from './handlers/detect';
import { runEmbed } from './handlers/embed';
import { setCurrentGuard } from '../vision/onnx/native-guard';
import type { WorkerEnvelope, WorkerReply } from './pool';
import type { ThreadMemory, WorkerTask } from './tasks';
import { PorchlightError } from '../errors';

/** This thread's own V8 heap and the memory its JavaScript holds outside it (process.memoryUsage's rss is the whole process's). */
function threadMemory(): ThreadMemory {
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { heapUsed, heapTotal, external, arrayBuffers };
}

async function dispatch(task: WorkerTask): Promise<unknown> {
  switch (task.type) {
    case 'detect':
      return runDetect(task);
    case 'embed':
      return runEmbed(task);
    case 'ping':
      if (task.delayMs) await new Promise((resolve) => setTimeout(resolve, task.delayMs));
      if (task.crash) process.exit(1);
      // Only where the process runs with --expose-gc (the soak): garbage not yet collected is not a leak.
      if (task.collectGarbage) (globalThis as { gc?: () => void }).gc?.();
      return { threadId, memory: threadMemory() };
    case 'release':
      await closeModelFiles();
      return { threadId };
    default:
      throw new PorchlightError('INTERNAL', `unknown worker task ${(task as { type?: unknown }).type}`);
  }
}

/** piscina's entry point: every outcome is a reply, so only a dying thread rejects. */
export default async function handle({ task, guard }: WorkerEnvelope): Promise<WorkerReply<unknown>> {
  // Kept after the task: a model load it started may still be running.
  setCurrentGuard(guard);
  try {
    return { ok: true, value: await dispatch(task as WorkerTask) };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
}
