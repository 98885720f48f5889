import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../../support/embedded-node-red';
import { repoRoot } from '../../support/paths';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';

/**
 * `/porchlight/health` when nothing can be recognised: an install of the
 * package whose face-api recognition weights are missing (as after a broken
 * copy or a cleaned node_modules), no ONNX model pack. The engine's `auto`
 * ends on tfjs, untested, and every frame would fail: health must say so.
 */

/** A copy of the built package whose @vladmandic/face-api lacks `model/face_recognition_model*`; everything else links to this checkout. */
function installWithoutRecognitionWeights(root: string): void {
  fs.cpSync(path.join(repoRoot, 'dist'), path.join(root, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(root, 'package.json'));
  const modules = path.join(root, 'node_modules');
  fs.mkdirSync(modules);
  const from = path.join(repoRoot, 'node_modules');
  for (const entry of fs.readdirSync(from)) {
    if (entry !== '@vladmandic') fs.symlinkSync(fs.realpathSync(path.join(from, entry)), path.join(modules, entry));
  }
  // face-api finds its weights beside its real package.json: that file and the model folder are real here.
  const faceApi = fs.realpathSync(path.join(from, '@vladmandic', 'face-api'));
  const copy = path.join(modules, '@vladmandic', 'face-api');
  fs.mkdirSync(path.join(copy, 'model'), { recursive: true });
  for (const entry of fs.readdirSync(faceApi)) {
    if (entry === 'package.json') fs.copyFileSync(path.join(faceApi, entry), path.join(copy, entry));
    else if (entry !== 'model') fs.symlinkSync(path.join(faceApi, entry), path.join(copy, entry));
  }
  for (const weights of fs.readdirSync(path.join(faceApi, 'model'))) {
    if (!weights.startsWith('face_recognition_model')) fs.symlinkSync(path.join(faceApi, 'model', weights), path.join(copy, 'model', weights));
  }
}

describe('health: the models cannot load', function () {
  this.timeout(300_000);
  let root: string;
  let proc: EmbeddedNodeRed | undefined;

  before(() => {
    root = tempDir('porchlight-no-weights-');
    installWithoutRecognitionWeights(root);
  });

  after(async () => {
    await proc?.kill('SIGKILL');
    await proc?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("the recognizer's weights missing: health answers 503 degraded, naming face-recognize's models and why", async () => {
    const dist = path.join(root, 'dist');
    proc = await startNodeRedWithAuth(
      ['porchlight-db', 'face-recognize', 'event-log'],
      (userDir) => [
        { id: 'tab', type: 'tab', label: 'no weights' },
        { id: 'db', type: 'porchlight-db', file: path.join(userDir, 'porchlight.db'), snapshotDir: path.join(userDir, 'snapshots') },
        { id: 'fr', type: 'porchlight-face-recognize', z: 'tab', name: 'recognize', db: 'db', wires: [[], [], [], []] },
      ],
      // The copy's own child script: it loads the copy's nodes, which find the copy's packages.
      { adminAuth: false, entry: path.join(dist, 'test', 'support', 'embedded-node-red.js'), env: { ...process.env, PORCHLIGHT_MODELS_DIR: path.join(root, 'models') } },
    );
    let report: { ok: boolean; status: string; reasons: string[]; components: Record<string, { state?: string }> } | undefined;
    let code = 0;
    await waitUntil(
      async () => {
        const res = await fetch(`${proc!.base}porchlight/health`);
        code = res.status;
        report = (await res.json()) as typeof report;
        return report!.components['models:fr'] && report!.components['models:fr'].state !== 'loading';
      },
      { timeout: 240_000, interval: 500, message: () => `face-recognize's models past loading (${JSON.stringify(report?.components['models:fr'])})` },
    );
    console.log(`      ${code} ${report!.reasons.join(" / ")}`);
    assert.equal(code, 503, JSON.stringify(report));
    assert.equal(report!.status, 'degraded');
    const why = report!.reasons.find((r) => r.startsWith('models:fr: '));
    assert.ok(why, JSON.stringify(report!.reasons));
    assert.match(why, /the recognition models cannot load: .*face_recognition_model|faceRecognitionNet/);
  });
});
