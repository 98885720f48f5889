import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { main } from '../../cli/porchlight';
import { openStore } from '../../lib/store';
import { lfwDir, lfwPeople, repoRoot } from '../support/paths';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../support/postgres';
import { tempDir } from '../support/temp';

function imagesOf(person: string): string[] {
  return fs.readdirSync(path.join(lfwDir, person)).sort().map((f) => path.join(lfwDir, person, f));
}

/** Runs the CLI in-process and captures what it prints. */
async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('porchlight CLI', function () {
  this.timeout(300_000);
  const [alice, bob] = lfwPeople().filter((p) => imagesOf(p).length >= 3).slice(0, 2);
  const stranger = lfwPeople().slice(-1)[0];
  let dir: string;
  let blank: string;

  before(async () => {
    dir = tempDir('porchlight-cli-');
    blank = path.join(dir, 'blank.png');
    await sharp({ create: { width: 200, height: 160, channels: 3, background: '#8899aa' } }).png().toFile(blank);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints usage and exits 2 without a command, on an unknown command or option', async () => {
    const none = await run();
    assert.equal(none.code, 2);
    assert.match(none.out.join('\n'), /usage: porchlight <command>/);
    assert.equal((await run('frobnicate')).code, 2);
    const badOption = await run('detect', '--bogus', 'x.jpg');
    assert.equal(badOption.code, 2);
    assert.match(badOption.err[0], /Unknown option '--bogus'/);
    assert.equal((await run('recognize', 'only-one')).code, 2);
    assert.equal((await run('eval', 'lfw', '--images', dir)).code, 2);
  });

  it('detect prints file,top,right,bottom,left per face, nothing for a face-less image, and exits 1 on a missing or unreadable file', async () => {
    const image = imagesOf(alice)[0];
    const ok = await run('detect', image, blank);
    assert.equal(ok.code, 0);
    assert.equal(ok.out.length, 1);
    const [file, top, right, bottom, left] = ok.out[0].split(',');
    assert.equal(file, image);
    assert.ok(+top < +bottom && +left < +right && +right <= 250 && +bottom <= 250, ok.out[0]);

    const missing = await run('detect', path.join(dir, 'nope.jpg'));
    assert.equal(missing.code, 1);
    assert.match(missing.err[0], /no such file or folder/);

    const corrupt = path.join(dir, 'corrupt.jpg');
    fs.writeFileSync(corrupt, 'this is not a JPEG');
    const unreadable = await run('detect', corrupt, image);
    assert.equal(unreadable.code, 1);
    assert.match(unreadable.err[0], /corrupt\.jpg: not an image/);
    assert.equal(unreadable.out.length, 1, 'the readable image is still processed');
    fs.rmSync(corrupt);
  });

  it('recognize names known people (image named after them, or a folder of theirs), unknown_person and no_persons_found', async () => {
    const known = path.join(dir, 'known');
    fs.mkdirSync(path.join(known, bob), { recursive: true });
    fs.copyFileSync(imagesOf(alice)[0], path.join(known, `${alice}.jpg`));
    fs.copyFileSync(imagesOf(bob)[0], path.join(known, bob, 'a.jpg'));
    fs.copyFileSync(imagesOf(bob)[1], path.join(known, bob, 'b.jpg'));
    const unknown = path.join(dir, 'unknown');
    fs.mkdirSync(unknown);
    fs.copyFileSync(imagesOf(alice)[2], path.join(unknown, '1.jpg'));
    fs.copyFileSync(imagesOf(bob)[2], path.join(unknown, '2.jpg'));
    fs.copyFileSync(imagesOf(stranger)[0], path.join(unknown, '3.jpg'));
    fs.copyFileSync(blank, path.join(unknown, '4.png'));

    // The default engine (YuNet + MobileFaceNet bundled in the package) and its own default tolerance.
    const result = await run('recognize', known, unknown, '--show-distance');
    assert.equal(result.code, 0, result.err.join('\n'));
    const lines = result.out;
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[0], new RegExp(`^${path.join(unknown, '1.jpg')},${alice},[01]\\.\\d{4}$`));
    assert.match(lines[1], new RegExp(`^${path.join(unknown, '2.jpg')},${bob},[01]\\.\\d{4}$`));
    assert.equal(lines[2], `${path.join(unknown, '3.jpg')},unknown_person,None`);
    assert.equal(lines[3], `${path.join(unknown, '4.png')},no_persons_found`);

    // face-api's networks (tfjs) stay selectable, with face_recognition's 0.6.
    const faceApi = await run('recognize', known, unknown, '--detector', 'ssd-mobilenetv1', '--tolerance', '0.6', '--show-distance');
    assert.equal(faceApi.code, 0, faceApi.err.join('\n'));
    assert.match(faceApi.err[0], /^engine: face-api SSD MobileNet \+ ResNet-128 \(tfjs\)/);
    assert.match(faceApi.out[0], new RegExp(`^${path.join(unknown, '1.jpg')},${alice},0\\.\\d{4}$`));
    assert.equal(faceApi.out[2], `${path.join(unknown, '3.jpg')},unknown_person,None`);

    const single = await run('recognize', known, path.join(unknown, '1.jpg'));
    assert.deepEqual(single.out, [`${path.join(unknown, '1.jpg')},${alice}`]);

    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    const none = await run('recognize', empty, unknown);
    assert.equal(none.code, 1);
    assert.match(none.err[0], /no images of known people/);
  });

  it('enroll puts a folder-per-person tree into a DB file the nodes can open', async () => {
    const tree = path.join(dir, 'tree');
    for (const person of [alice, bob]) {
      fs.mkdirSync(path.join(tree, person), { recursive: true });
      // The first and third photos: YuNet also finds a second, partly cut-off face at the edge of some
      // LFW photos (Abdoulaye Wade's second), and enrollment refuses an image with two faces.
      [imagesOf(person)[0], imagesOf(person)[2]].forEach((f, i) => fs.copyFileSync(f, path.join(tree, person, `${i}.jpg`)));
    }
    fs.copyFileSync(blank, path.join(tree, bob, 'blank.png'));
    const dbFile = path.join(dir, 'faces.db');
    const result = await run('enroll', '--db', dbFile, tree);
    assert.equal(result.code, 0, result.err.join('\n'));
    assert.deepEqual(result.out, [`${alice},known,2`, `${bob},known,2`]);
    assert.match(result.err.join('\n'), /blank\.png: no face found; skipped/);
    const store = await openStore({ file: dbFile });
    try {
      const people = await store.listPeople();
      assert.deepEqual(people.map((p) => [p.name, p.faceCount]), [[alice, 2], [bob, 2]]);
      const faces = await store.listFaces(alice);
      assert.equal(faces[0].model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0', 'enrolled with the default engine');
      assert.equal(faces[0].dim, 128);
    } finally {
      await store.close();
    }
    assert.equal((await run('enroll', '--db', dbFile, path.join(dir, 'missing'))).code, 1);
  });

  describe('enroll into a shared PostgreSQL database', () => {
    requirePostgres();
    let database: TestDatabase;
    before(async () => {
      database = await createTestDatabase('cli');
    });
    after(async () => database?.drop());

    it('takes a postgres:// URL as --db, and another instance sees the people', async () => {
      const tree = path.join(dir, 'tree-pg', alice);
      fs.mkdirSync(tree, { recursive: true });
      imagesOf(alice).slice(0, 2).forEach((f, i) => fs.copyFileSync(f, path.join(tree, `${i}.jpg`)));
      const result = await run('enroll', '--db', database.url, path.dirname(tree));
      assert.equal(result.code, 0, result.err.join('\n'));
      assert.deepEqual(result.out, [`${alice},known,2`]);
      const store = await openStore({ backend: 'postgres', postgres: database.config });
      try {
        assert.deepEqual((await store.listPeople()).map((p) => [p.name, p.faceCount]), [[alice, 2]]);
      } finally {
        await store.close();
      }
    });
  });

  it('eval lfw runs the k-fold protocol and prints the JSON report', async () => {
    const pairs = path.join(dir, 'pairs.txt');
    // Two folds of one matched and one mismatched pair, in the format of pairs.txt.
    const n = (f: string) => String(Number(path.basename(f).match(/_(\d{4})\./)![1]));
    const [a1, a2, a3] = imagesOf(alice);
    const [b1, b2] = imagesOf(bob);
    fs.writeFileSync(pairs, `2\t1\n${alice}\t${n(a1)}\t${n(a2)}\n${alice}\t${n(a3)}\t${bob}\t${n(b1)}\n${bob}\t${n(b1)}\t${n(b2)}\n${alice}\t${n(a1)}\t${bob}\t${n(b2)}\n`);
    const result = await run('eval', 'lfw', '--images', lfwDir, '--pairs', pairs, '--json', '--no-cache');
    assert.equal(result.code, 0, result.err.join('\n'));
    const report = JSON.parse(result.out[0]);
    assert.equal(report.pairs, 4);
    assert.equal(report.folds.length, 2);
    assert.equal(report.thresholds.length, 2);
    assert.deepEqual(report.failures, []);
    assert.equal(report.accuracy, 1);
    assert.equal(report.std, 0);
    assert.equal(report.pipeline.model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0');
    assert.equal(report.pipeline.detector, 'yunet');
    assert.equal(report.pipeline.flip, true, 'flip averaging by default');
    // Every image from the cache the second time: the same report, the model named all the same.
    const cache = path.join(dir, 'lfw-cache.ndjson');
    for (let run_ = 0; run_ < 2; run_++) {
      const cached = await run('eval', 'lfw', '--images', lfwDir, '--pairs', pairs, '--json', '--cache', cache);
      assert.equal(cached.code, 0, cached.err.join('\n'));
      assert.deepEqual({ ...JSON.parse(cached.out[0]), seconds: 0 }, { ...report, seconds: 0 });
    }
    const missing = await run('eval', 'lfw', '--images', lfwDir, '--pairs', path.join(dir, 'nope.txt'));
    assert.equal(missing.code, 1);
    assert.match(missing.err[0], /no such pairs file/);
  });

  it('the installed bin exits with the code main returns', async () => {
    const bin = path.join(repoRoot, 'dist', 'cli', 'porchlight.js');
    const code = await new Promise<number>((resolve) => {
      execFile(process.execPath, [bin, 'frobnicate'], (err) => resolve(err ? Number((err as { code?: number }).code) : 0));
    });
    assert.equal(code, 2);
  });
});
