import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { poolCropEmbedder, reembedForSelection, reembedStore, type ReembedProgress } from '../../../lib/engine/reembed';
import { openStore } from '../../../lib/store';
import type { Store } from '../../../lib/store/types';
import { embedFaces } from '../../../lib/engine/client';
import { cosineSimilarity } from '../../../lib/vision/onnx/recognizer';
import { modelIdForSelection, selectBackend } from '../../../lib/engine/select';
import { WorkerPool } from '../../../lib/workers/pool';
import { referenceModel, verifyReferenceModels } from '../../support/onnx-models';
import { lfwImage } from '../../support/paths';
import { tempDir } from '../../support/temp';

/** Three people with two images each in this LFW copy. */
const PEOPLE: Record<string, [number, number]> = { Abdullah_Gul: [1, 6], 'Adel_Al-Jubeir': [1, 3], Angelina_Jolie: [1, 2] };

describe('reembed: switching recognizer re-embeds every stored crop', function () {
  this.timeout(180_000);
  let pool: WorkerPool;
  let store: Store;
  let dir: string;

  before(async () => {
    verifyReferenceModels();
    pool = new WorkerPool({ threads: 1, maxQueue: 8 });
    dir = tempDir('porchlight-reembed-');
    store = await openStore({ file: path.join(dir, 'faces.db') });
    // Enrolled with the tfjs pipeline (face-api ResNet), crops kept, as face-db does.
    for (const [person, numbers] of Object.entries(PEOPLE)) {
      for (const n of numbers) {
        const result = await embedFaces(pool, fs.readFileSync(lfwImage(person, n)), { cropSize: 160 });
        const face = result.faces[0];
        await store.enroll(person, [{ model: face.model!, embedding: face.embedding!, quality: face.quality.score, crop: face.crop, source: `${person}_${n}` }]);
      }
    }
    const [first] = await store.listFaces('Abdullah_Gul');
    await store.enroll('Abdullah_Gul', [{ model: first.model, embedding: new Float32Array(128).fill(0.1), source: 'no crop' }]);
  });

  after(async () => {
    await store.close();
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds one embedding of the new model per crop beside the old ones, with progress, and resumes where it stopped', async () => {
    const selection = await selectBackend(pool, 'onnx', {
      detectorModel: referenceModel('yunet_s_640_640.onnx'),
      recognizerModel: referenceModel('mobilefacenet_foamliu_alenchen.onnx'),
    });
    const model = modelIdForSelection(selection);
    assert.equal(model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0');
    const embed = poolCropEmbedder(pool, selection);
    const seen: ReembedProgress[] = [];
    const report = await reembedForSelection(store, pool, selection, { onProgress: (p) => seen.push(p) });
    assert.deepEqual(report, { total: 7, done: 7, added: 6, noCrop: 1, noFace: 0 });
    assert.deepEqual(seen.map((p) => p.done), [0, 1, 2, 3, 4, 5, 6, 7]);

    const models = await store.models();
    assert.deepEqual(models.map((m) => [m.model, m.faces]).sort(), [['faceapi-resnet128', 7], [model, 6]].sort());
    const faces = await store.listFaces();
    const fresh = faces.filter((f) => f.model === model);
    const sources = new Set(faces.filter((f) => f.model === 'faceapi-resnet128').map((f) => f.id));
    assert.ok(fresh.every((f) => sources.has(Number(f.metadata.reembeddedFrom))), 'each new face names the face it came from');

    // The new embeddings work: a person's two crops are closer than crops of different people.
    const byPerson = new Map<number, Float32Array[]>();
    for (const f of fresh) byPerson.set(f.personId, [...(byPerson.get(f.personId) ?? []), (await store.getFace(f.id))!.embedding]);
    const groups = [...byPerson.values()];
    const same = groups.map(([a, b]) => cosineSimilarity(a, b));
    const other = groups.flatMap(([a], i) => groups.filter((_, j) => j > i).map(([b]) => cosineSimilarity(a, b)));
    assert.ok(Math.min(...same) > Math.max(...other), `same ${same.map((s) => s.toFixed(2))} vs other ${other.map((s) => s.toFixed(2))}`);

    const again = await reembedStore(store, { model, embed });
    assert.deepEqual(again, { total: 1, done: 1, added: 0, noCrop: 1, noFace: 0 }, 'only the crop-less face is left');
  });

  it('stops when aborted', async () => {
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(reembedStore(store, { model: 'other-model', embed: async () => undefined, signal: abort.signal }), /abort/i);
  });
});
