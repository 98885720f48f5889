import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { modelsDir } from './paths';

/** A reference model of ../shared/models (never copied into the repo). */
export const referenceModel = (name: string): string => path.join(modelsDir, name);

/** Checks the reference models against their published checksums before a test trusts them. */
export function verifyReferenceModels(): void {
  const sums = fs.readFileSync(path.join(modelsDir, 'SHA256SUMS'), 'utf8').trim().split('\n');
  for (const line of sums) {
    const [sha256, name] = line.split(/\s+/);
    const actual = createHash('sha256').update(fs.readFileSync(referenceModel(name))).digest('hex');
    assert.equal(actual, sha256, `${name} does not match SHA256SUMS`);
  }
}

/** A porchlight-engine config node on ONNX with the reference YuNet + MobileFaceNet (the package's default pipeline). */
export function referenceOnnxEngine(id = 'eng'): Record<string, unknown> & { detectorModel: string; recognizerModel: string } {
  return {
    id,
    type: 'porchlight-engine',
    backend: 'onnx',
    detectorKind: 'yunet',
    detectorModel: referenceModel('yunet_s_640_640.onnx'),
    recognizerModel: referenceModel('mobilefacenet_foamliu_alenchen.onnx'),
    threads: 1,
  };
}
