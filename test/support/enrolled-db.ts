import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { acquireSharedPool, embedFaces, type EmbedRequest, type PoolLease } from '../../lib/engine';
import { openStore, type Store, type NewFace } from '../../lib/store';
import { lfwDir } from './paths';
import { tempDir } from './temp';

/** Faces of a person's first `count` LFW photos (by file name), one each, embedded by the pool. */
export async function lfwFaces(lease: PoolLease, person: string, request: Omit<EmbedRequest, 'policy'> = {}, count = 2): Promise<NewFace[]> {
  const faces: NewFace[] = [];
  for (const file of fs.readdirSync(path.join(lfwDir, person)).sort().slice(0, count)) {
    const result = await embedFaces(lease.pool, fs.readFileSync(path.join(lfwDir, person, file)), { ...request, policy: 'wait' });
    const face = result.faces[0];
    assert.ok(face?.embedding, `a face in ${file}`);
    faces.push({ model: face.model!, embedding: face.embedding!, quality: face.quality.score, source: file });
  }
  return faces;
}

/**
 * A suite's face database: a fresh folder, the one worker pool of the suite
 * (the models load once; a node's lease joins it) and a database file in the
 * folder with `enroll` run on it. The caller releases the lease.
 */
export async function enrolledDb(prefix: string, enroll: (store: Store, lease: PoolLease) => Promise<void>): Promise<{ dir: string; dbFile: string; lease: PoolLease }> {
  const dir = tempDir(prefix);
  const dbFile = path.join(dir, 'faces.db');
  const lease = acquireSharedPool({ threads: 1, maxQueue: 16, taskTimeoutMs: 120_000 });
  const store = await openStore({ file: dbFile });
  try {
    await enroll(store, lease);
  } finally {
    await store.close();
  }
  return { dir, dbFile, lease };
}
