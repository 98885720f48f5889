import { threadId } from 'node:worker_threads';
import { toWireError } from '../errors';
import { closeModelFiles } from '../vision/onnx/runtime';
import { runDetect } from './handlers/detect';
import { runEmbed } from './handlers/embed';
import { setCurrentGuard } from '../vision/onnx/native-guard';
import type { WorkerEnvelope, WorkerReply } from './pool';
import type { WorkerTask } from './tasks';
import { PorchlightError } from '../errors';

async function dispatch(task: WorkerTask): Promise<unknown> {
  switch (task.type) {
    case 'detect':
      return runDetect(task);
    case 'embed':
      return runEmbed(task);
    case 'ping':
      if (task.delayMs) await new Promise((resolve) => setTimeout(resolve, task.delayMs));
      if (task.crash) process.exit(1);
      return { threadId };
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
