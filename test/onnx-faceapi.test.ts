import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embedFaces } from '../lib/vision/client';
import { ensureResNetGraph } from '../lib/vision/onnx/faceapi/resnet';
import { cosineSimilarity } from '../lib/vision/onnx/recognizer';
import { faceApiModelDir } from '../lib/vision/tfjs/faceapi-runtime';
import { WorkerPool } from '../lib/workers/pool';
import { lfwDir, lfwPeople } from './support/paths';

/** 50 LFW images: the first image of every 40th person, a spread of faces, lighting and pose. */
function lfwSample(count: number): string[] {
  return lfwPeople()
    .filter((_, i) => i % 40 === 0)
    .slice(0, count)
    .map((person) => path.join(lfwDir, person, fs.readdirSync(path.join(lfwDir, person)).sort()[0]));
}

describe("face-api's ResNet descriptor as an ONNX graph built from its weights", function () {
  this.timeout(300_000);
  let pool: WorkerPool;
  let cacheDir: string;

  before(() => {
    pool = new WorkerPool({ threads: 1, maxQueue: 8 });
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-built-'));
  });
  after(async () => {
    await pool.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('caches the graph under the checksum of the source weights and reuses it', () => {
    const manifest = fs.readFileSync(path.join(faceApiModelDir(), 'face_recognition_model-weights_manifest.json'));
    const bin = fs.readFileSync(path.join(faceApiModelDir(), 'face_recognition_model.bin'));
    const sha = createHash('sha256').update(manifest).update(bin).digest('hex');
    const file = ensureResNetGraph(cacheDir);
    assert.equal(path.basename(file), `faceapi-resnet128-g1-${sha.slice(0, 16)}.onnx`);
    const built = fs.statSync(file);
    assert.ok(built.size > bin.length * 3, 'dequantized float32 weights');
    assert.equal(ensureResNetGraph(cacheDir), file);
    assert.equal(fs.statSync(file).mtimeMs, built.mtimeMs, 'not rebuilt');
    assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(file)], 'no partial files left');
  });

  it('gives the same descriptors as tfjs on 50 LFW faces (cosine >= 0.9999, max abs difference <= 1e-3), same model id', async () => {
    const images = lfwSample(50);
    assert.equal(images.length, 50);
    let worstCosine = 1;
    let worstDiff = 0;
    let compared = 0;
    for (const file of images) {
      const bytes = fs.readFileSync(file);
      const tfjs = await embedFaces(pool, bytes, { flip: false, options: { maxFaces: 3 } });
      if (tfjs.faces.length === 0) continue;
      // The same faces (68 landmarks included) give the same chips: only the network differs.
      const onnx = await embedFaces(pool, bytes, { flip: false, faces: tfjs.faces, recognizer: 'faceapi-resnet128-onnx', recognizerConfig: { cacheDir } });
      assert.equal(onnx.faces.length, tfjs.faces.length);
      for (const [i, face] of tfjs.faces.entries()) {
        const other = onnx.faces.find((f) => Math.abs(f.box.x - face.box.x) < 1e-6 && Math.abs(f.box.y - face.box.y) < 1e-6) ?? onnx.faces[i];
        assert.equal(other.model, 'faceapi-resnet128');
        worstCosine = Math.min(worstCosine, cosineSimilarity(face.embedding!, other.embedding!));
        for (let k = 0; k < 128; k++) worstDiff = Math.max(worstDiff, Math.abs(face.embedding![k] - other.embedding![k]));
        compared++;
      }
    }
    assert.ok(compared >= 45, `${compared} faces compared`);
    assert.ok(worstCosine >= 0.9999, `worst cosine ${worstCosine}`);
    assert.ok(worstDiff <= 1e-3, `worst abs difference ${worstDiff}`);
  });
});
