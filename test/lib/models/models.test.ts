import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { main } from '../../../cli/porchlight';
import { isPorchlightError } from '../../../lib/errors';
import { installPack, packStatus } from '../../../lib/models/install';
import { BUNDLED_MODELS_DIR, DEFAULT_PACK, MODEL_PACKS, bundledModelPath, findPack } from '../../../lib/models/packs';
import { modelIdForSelection, selectBackend } from '../../../lib/engine/select';
import { WorkerPool } from '../../../lib/workers/pool';
import { verifyReferenceModels } from '../../support/onnx-models';
import { lfwDir, modelsDir, repoRoot } from '../../support/paths';
import { tempDir } from '../../support/temp';

const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const PACK = 'yunet-mobilefacenet';

/**
 * A loopback mirror of the reference models: /good/ serves them as they are,
 * /corrupt/ with one byte changed, /oversized/ with bytes appended, /missing/
 * answers 404 and /slow/ sends a first chunk and then nothing.
 */
function startMirror(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const stalled: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const [, mode, name] = (req.url ?? '').split('/');
    const file = path.join(modelsDir, path.basename(name ?? ''));
    if (mode === 'missing' || !fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const bytes = fs.readFileSync(file);
    if (mode === 'corrupt') bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    if (mode === 'slow') {
      res.writeHead(200, { 'content-length': bytes.length });
      res.write(bytes.subarray(0, 1024));
      stalled.push(res);
      return;
    }
    res.writeHead(200).end(mode === 'oversized' ? Buffer.concat([bytes, Buffer.alloc(4096)]) : bytes);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () => {
          for (const res of stalled) res.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('model packs: installer (loopback mirror of ../shared/models)', function () {
  this.timeout(120_000);
  let mirror: Awaited<ReturnType<typeof startMirror>>;
  let userDir: string;
  const packDir = () => path.join(userDir, 'porchlight', 'models', PACK);

  before(async () => {
    verifyReferenceModels();
    mirror = await startMirror();
  });
  after(async () => {
    await mirror.close();
  });
  beforeEach(() => {
    userDir = tempDir('porchlight-models-');
  });
  afterEach(() => {
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('installs from a mirror URL into the user dir, verified, and does not fetch intact files again', async () => {
    const result = await installPack(PACK, { userDir, from: `${mirror.url}/good` });
    assert.equal(result.dir, packDir());
    const pack = findPack(PACK)!;
    assert.deepEqual(result.files.map((f) => f.name), pack.files.map((f) => f.name));
    for (const file of result.files) {
      assert.equal(file.alreadyInstalled, false);
      assert.deepEqual(fs.readFileSync(file.path), fs.readFileSync(path.join(modelsDir, file.name)));
    }
    assert.deepEqual(fs.readdirSync(packDir()).sort(), pack.files.map((f) => f.name).sort(), 'no partial files left');
    assert.ok(packStatus(userDir).find((s) => s.pack.name === PACK)!.installed);

    const before = mirror.requests.length;
    const again = await installPack(PACK, { userDir, from: `${mirror.url}/good` });
    assert.ok(again.files.every((f) => f.alreadyInstalled));
    assert.equal(mirror.requests.length, before, 'nothing downloaded the second time');
  });

  it('refuses a corrupted file and keeps nothing of it', async () => {
    const err = await rejection(installPack(PACK, { userDir, from: `${mirror.url}/corrupt` }));
    assert.ok(isPorchlightError(err, 'MODEL_UNAVAILABLE'));
    assert.match(err.message, /yunet_s_640_640\.onnx: SHA-256 mismatch \(expected 8f2383e4.*, got [0-9a-f]{64}\); refused/);
    assert.deepEqual(fs.readdirSync(packDir()), [], 'neither the file nor a partial download remains');
    assert.equal(packStatus(userDir).find((s) => s.pack.name === PACK)!.installed, false);
  });

  it('refuses a response larger than the pack declares', async () => {
    const err = await rejection(installPack(PACK, { userDir, from: `${mirror.url}/oversized` }));
    assert.match(err.message, /sent more than the expected 232589 bytes/);
    assert.deepEqual(fs.readdirSync(packDir()), []);
  });

  it('reports a 404 with the URL', async () => {
    const err = await rejection(installPack(PACK, { userDir, from: `${mirror.url}/missing` }));
    assert.match(err.message, new RegExp(`HTTP 404 .*from ${mirror.url}/missing/yunet_s_640_640\\.onnx`));
  });

  it('abandons a server that stops sending', async () => {
    const started = Date.now();
    const err = await rejection(installPack(PACK, { userDir, from: `${mirror.url}/slow`, stallTimeoutMs: 500 }));
    assert.match(err.message, /sent nothing for 1 s; download abandoned/);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(fs.readdirSync(packDir()), []);
  });

  it('installs from a local folder, refuses an unknown pack and a folder without the files', async () => {
    const result = await installPack(PACK, { userDir, from: modelsDir });
    assert.ok(result.files.every((f) => fs.existsSync(f.path) && !f.alreadyInstalled));
    assert.match((await rejection(installPack('no-such-pack', { userDir }))).message, /unknown model pack "no-such-pack"; available: yunet-mobilefacenet/);
    const empty = tempDir('porchlight-empty-');
    try {
      assert.match((await rejection(installPack(PACK, { userDir: empty, from: empty }))).message, /yunet_s_640_640\.onnx: not found in/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('pins every upstream URL to a commit; checksum, size and URL file name agree with the reference copy in ../shared/models and with the bundled copy', () => {
    const sums = new Map(
      fs.readFileSync(path.join(modelsDir, 'SHA256SUMS'), 'utf8').trim().split('\n').map((line) => line.split(/\s+/).reverse() as [string, string]),
    );
    const sha256 = sha256Of;
    // Where each reference file comes from, as ../shared/models/README.md gives it (repository, commit, path).
    const readme = fs.readFileSync(path.join(modelsDir, 'README.md'), 'utf8');
    for (const pack of MODEL_PACKS) {
      for (const file of pack.files) {
        const match = /^https:\/\/raw\.githubusercontent\.com\/([^/]+\/[^/]+)\/([0-9a-f]{40})\/(.+)$/.exec(file.url);
        assert.ok(match, `${file.url} is pinned to a commit`);
        const [, repo, commit, upstreamPath] = match;
        // The README's list item of this file names its repository, path and commit.
        const source = readme.split(/\n- /).find((item) => item.startsWith(`\`${file.name}\`:`));
        assert.ok(source, `../shared/models/README.md gives the source of ${file.name}`);
        const flat = source.replace(/\s+/g, ' ');
        assert.ok(flat.includes(repo), `${file.name}: from ${repo} (${flat})`);
        assert.ok(flat.includes(`\`${upstreamPath}\``), `${file.name}: the URL's file ${upstreamPath} (${flat})`);
        assert.ok(flat.includes(`commit ${commit}`), `${file.name}: at commit ${commit} (${flat})`);
        const reference = path.join(modelsDir, file.name);
        assert.equal(file.sha256, sums.get(file.name), `${file.name}: SHA-256 as SHA256SUMS lists it`);
        assert.equal(file.sha256, sha256(reference), `${file.name}: SHA-256 of the reference copy`);
        assert.equal(file.bytes, fs.statSync(reference).size, `${file.name}: size of the reference copy`);
        if (pack.name === DEFAULT_PACK) {
          const bundled = path.join(BUNDLED_MODELS_DIR, file.name);
          assert.equal(bundled, bundledModelPath(file.role));
          assert.equal(sha256(bundled), file.sha256, `${file.name}: the bundled copy is the pinned file`);
          assert.equal(fs.statSync(bundled).size, file.bytes);
        }
      }
    }
    // The YuNet pin: the commit whose file has this checksum (147357457766 holds an older, different file).
    assert.match(findPack(PACK)!.files[0].url, /\/0047ac24afb1a50a0c6105001c89d1b5b805dbf1\/onnx\/yunet_s_640_640\.onnx$/);
  });

  it('ships the bundled models with their licence texts and provenance, in the package', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    assert.ok(pkg.files.includes('models'), 'package.json files lists models/');
    const shipped = fs.readdirSync(BUNDLED_MODELS_DIR).sort();
    for (const name of ['LICENSE.MobileFaceNet', 'LICENSE.libfacedetection.train', 'README.md']) assert.ok(shipped.includes(name), name);
    for (const name of ['LICENSE.MobileFaceNet', 'LICENSE.libfacedetection.train']) {
      assert.deepEqual(fs.readFileSync(path.join(BUNDLED_MODELS_DIR, name)), fs.readFileSync(path.join(modelsDir, name)), `${name} as upstream gives it`);
    }
    const readme = fs.readFileSync(path.join(BUNDLED_MODELS_DIR, 'README.md'), 'utf8');
    for (const name of shipped.filter((f) => f.endsWith('.onnx'))) {
      const file = findPack(PACK)!.files.find((f) => f.name === name);
      const sum = file?.sha256 ?? sha256Of(path.join(BUNDLED_MODELS_DIR, name));
      assert.ok(readme.includes(name) && readme.includes(sum), `README.md gives ${name} and its SHA-256`);
    }
  });

  it('porchlight models install / list (CLI)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    assert.equal(await main(['models', 'install', PACK, '--from', `${mirror.url}/good`, '--user-dir', userDir], io), 0);
    assert.equal(out.length, 2);
    assert.match(out[0], new RegExp(`^installed\\t${packDir()}/yunet_s_640_640\\.onnx\\tsha256 8f2383e4`));
    out.length = 0;
    assert.equal(await main(['models', 'list', '--user-dir', userDir], io), 0);
    assert.match(out[0], /^yunet-mobilefacenet\tinstalled\t/);
    assert.equal(await main(['models', 'install', PACK, '--from', `${mirror.url}/corrupt`, '--user-dir', tempDir('x', userDir)], io), 1);
    assert.match(err.at(-1)!, /^porchlight: yunet_s_640_640\.onnx: SHA-256 mismatch/);
    assert.equal(await main(['models', 'install'], io), 2);
  });

  it('porchlight eval lfw --backend onnx --detector yunet:<file> --recognizer <file> (CLI)', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    const args = ['eval', 'lfw', '--images', lfwDir, '--pairs', path.join(lfwDir, '..', 'pairsDevTest.txt'), '--limit', '20', '--json', '--no-cache'];
    const engine = ['--backend', 'onnx', '--detector', `yunet:${path.join(modelsDir, 'yunet_s_640_640.onnx')}`, '--recognizer', path.join(modelsDir, 'mobilefacenet_foamliu_alenchen.onnx')];
    assert.equal(await main([...args, ...engine], io), 0, err.join('\n'));
    const report = JSON.parse(out[0]);
    assert.equal(report.pipeline.detector, 'yunet');
    assert.equal(report.pipeline.model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0');
    assert.equal(report.pairs, 20);
    assert.ok(report.accuracy >= 0.9, `accuracy ${report.accuracy}`);
    assert.equal(await main([...args, '--backend', 'fast'], io), 2);
    assert.match(err.at(-1)!, /--backend must be one of auto, tfjs, onnx, got "fast"/);
    assert.equal(await main([...args, '--backend', 'tfjs', '--recognizer', 'x.onnx'], io), 2);
  });

  describe('backend selection', () => {
    let pool: WorkerPool;
    before(() => {
      pool = new WorkerPool({ threads: 1, maxQueue: 4 });
    });
    after(async () => {
      await pool.close();
    });

    it('auto picks the bundled YuNet + MobileFaceNet with no pack installed; an installed pack still works, with the same model id', async () => {
      const fresh = await selectBackend(pool, 'auto', { userDir });
      assert.equal(fresh.backend, 'onnx');
      assert.equal(fresh.detector, 'yunet');
      assert.equal(fresh.recognizer, 'onnx');
      assert.equal(fresh.label, 'YuNet + MobileFaceNet (onnxruntime)');
      assert.equal(fresh.fallback, undefined);
      assert.equal(fresh.detectorConfig.modelPath, bundledModelPath('detector'));
      assert.equal(fresh.recognizerConfig.modelPath, bundledModelPath('recognizer'));
      assert.equal(fresh.tolerance, 1.15, 'unit-length embeddings are compared at another scale');
      assert.match(fresh.reason, /^auto: ONNX self-test passed in \d+ ms \(yunet_s_640_640\.onnx \+ mobilefacenet_foamliu_alenchen\.onnx\)/);
      assert.equal(fs.existsSync(path.join(userDir, 'porchlight')), false, 'nothing downloaded or built in the user dir');

      const installed = await installPack(PACK, { userDir, from: modelsDir });
      const [detectorModel, recognizerModel] = installed.files.map((f) => f.path);
      const fromPack = await selectBackend(pool, 'onnx', { userDir, detectorModel, recognizerModel });
      assert.equal(fromPack.label, 'YuNet + MobileFaceNet (onnxruntime)');
      assert.equal(modelIdForSelection(fromPack), modelIdForSelection(fresh), 'a DB enrolled with the pack matches with the bundled models');
    });

    it("face-api's networks stay selectable on ONNX (detector kind faceapi) and on tfjs, on face-api's scale", async () => {
      const onnx = await selectBackend(pool, 'auto', { userDir, detectorKind: 'faceapi' });
      assert.deepEqual([onnx.backend, onnx.detector, onnx.recognizer, onnx.tolerance], ['onnx', 'ssd-mobilenetv1-onnx', 'faceapi-resnet128-onnx', 0.6]);
      assert.equal(onnx.label, 'face-api SSD MobileNet + ResNet-128 (onnxruntime)');
      assert.ok(fs.readdirSync(path.join(userDir, 'porchlight', 'models', 'built')).some((f) => f.endsWith('.onnx')), 'graph built in the user dir');
      const tfjs = await selectBackend(pool, 'tfjs', { userDir });
      assert.equal(tfjs.label, 'face-api SSD MobileNet + ResNet-128 (tfjs)');
      assert.equal(modelIdForSelection(onnx), modelIdForSelection(tfjs), 'the same embeddings on either backend');
    });

    it('auto falls back to tfjs when no ONNX pipeline passes its self-test; explicit onnx fails loudly; tfjs never tries', async () => {
      // A wrong recognizer file, and a "user dir" that is a file, where no graph can be built.
      const wrong = {
        detectorModel: path.join(modelsDir, 'yunet_s_640_640.onnx'),
        recognizerModel: path.join(modelsDir, 'ultraface_version-RFB-320.onnx'),
        userDir: path.join(modelsDir, 'README.md'),
      };
      const auto = await selectBackend(pool, 'auto', wrong);
      assert.equal(auto.backend, 'tfjs');
      assert.match(auto.reason, /^auto: tfjs, because ONNX self-test failed: ultraface_version-RFB-320\.onnx: a recognizer expects \?x3x112x112, got 1x3x240x320 .*; face-api's networks on ONNX failed too: ENOTDIR/);
      const err = await rejection(selectBackend(pool, 'onnx', wrong));
      assert.ok(isPorchlightError(err, 'MODEL_UNAVAILABLE'));
      assert.equal((await selectBackend(pool, 'tfjs', wrong)).reason, 'tfjs as configured');
    });
  });
});
