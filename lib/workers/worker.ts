import { threadId } from 'node:worker_threads';
import { toWireError } from '../errors';
import { closeModelFiles } from '../vision/onnx/runtime';
import { runDetect } from './handlers/detect';
import { runEmbed } from './handlers/embed';
import type { WorkerReply } from './pool';
import type { WorkerTask } from './tasks';

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
      throw new Error(`unknown worker task ${(task as { type?: unknown }).type}`);
  }
}

/** piscina's entry point: every outcome is a reply, so only a dying thread rejects. */
export default async function handle(task: WorkerTask): Promise<WorkerReply<unknown>> {
  try {
    return { ok: true, value: await dispatch(task) };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
}
