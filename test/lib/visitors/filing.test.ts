import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../../../lib/image/decode';
import { openSqliteStore, type SqliteStore } from '../../../lib/store';
import { createDefaultRegistry } from '../../../lib/vision/detectors';
import { euclidean } from '../../../lib/vision/embedder';
import { analyzeFaces } from '../../../lib/vision/pipeline';
import { createEmbedder } from '../../../lib/vision/recognizers';
import { DEFAULT_DETECT_OPTIONS } from '../../../lib/vision/types';
import { CLUSTER_TOLERANCE_SHARE, clusterDistance, fileVisitors, visitorsOf, type VerdictMessage, type VisitorBook } from '../../../lib/visitors';
import { lfwImage } from '../../support/paths';
import { tempDir } from '../../support/temp';

/**
 * lib/visitors fileVisitors: the filing policy face-recognize applies to each
 * verdict, on a real SQLite file and real faces (LFW, embedded by the bundled
 * YuNet + MobileFaceNet in this thread, no pool).
 */
describe('filing the unknown faces of a verdict with the recurring visitors (lib/visitors fileVisitors)', function () {
  this.timeout(120_000);
  let dir: string;
  let store: SqliteStore;
  let book: VisitorBook;
  /** msg.faces as face-recognize sends them, by LFW photo. */
  const faces = new Map<string, Record<string, unknown>>();
  let eventNo = 0;

  const verdict = (status: string, photos: string[], statuses: string[] = photos.map(() => 'unknown')): VerdictMessage => ({
    event: { id: `01M8NFILING${String(++eventNo).padStart(15, '0')}`, startedAt: Date.now() },
    faces: photos.map((photo, i) => ({ ...faces.get(photo)!, status: statuses[i] })),
    verdict: { status },
  });
  const open = (tolerance: number) => async () => ({ book, tolerance });

  before(async () => {
    const { detector } = await createDefaultRegistry().create('yunet', {}, { fallback: false });
    const embedder = await createEmbedder('onnx', {});
    try {
      for (const [person, n] of [['Abdullah_Gul', 1], ['Abdullah_Gul', 6], ['Aaron_Peirsol', 1]] as const) {
        const { image, scale } = await decodeImage(fs.readFileSync(lfwImage(person, n)), { maxSide: detector.preferredMaxSide });
        const [face] = (await analyzeFaces(image, { embedder, detector }, { detect: DEFAULT_DETECT_OPTIONS, scale, flip: true, minQuality: 0, cropSize: 0 })).faces;
        faces.set(`${person}_${n}`, { box: face.box, score: face.score, quality: face.quality, model: face.model, embedding: Array.from(face.embedding!) });
      }
    } finally {
      detector.dispose();
    }
  });

  beforeEach(async () => {
    dir = tempDir('porchlight-filing-');
    store = openSqliteStore(path.join(dir, 'porchlight.db'));
    book = visitorsOf(store)!;
    await book.ready;
  });
  afterEach(async () => {
    await store.close();
  });

  it('clusters within a share of the recognition tolerance', function () {
    assert.equal(clusterDistance(0.6), CLUSTER_TOLERANCE_SHARE * 0.6);
  });

  it('names the recurring visitor of an unknown verdict from their second visit on', async () => {
    const first = verdict('unknown', ['Abdullah_Gul_1']);
    assert.equal(await fileVisitors(first, 0.3, open(1.15)), undefined, 'seen once: not yet a visitor');
    assert.equal(first.verdict.visitor, undefined);
    const second = verdict('unknown', ['Abdullah_Gul_1']);
    const visitor = await fileVisitors(second, 0.3, open(1.15));
    assert.equal(visitor?.label, 'visitor #1');
    assert.equal(visitor?.seen, 2);
    assert.deepEqual(second.verdict.visitor, visitor);
  });

  it('joins another photo of the same man only within the cluster distance, and keeps a stranger apart', async () => {
    const [gul1, gul6, aaron] = ['Abdullah_Gul_1', 'Abdullah_Gul_6', 'Aaron_Peirsol_1'].map((p) => Float32Array.from(faces.get(p)!.embedding as number[]));
    const same = euclidean(gul1, gul6);
    const other = Math.min(euclidean(gul1, aaron), euclidean(gul6, aaron));
    assert.ok(same < other, `same man ${same.toFixed(3)} is closer than a stranger ${other.toFixed(3)}`);
    // A tolerance whose cluster distance falls between the two: the same man joins, the stranger does not.
    const tolerance = (same + other) / 2 / CLUSTER_TOLERANCE_SHARE;
    await fileVisitors(verdict('unknown', ['Abdullah_Gul_1']), 0, open(tolerance));
    assert.equal((await fileVisitors(verdict('unknown', ['Abdullah_Gul_6']), 0, open(tolerance)))?.seen, 2);
    assert.equal(await fileVisitors(verdict('unknown', ['Aaron_Peirsol_1']), 0, open(tolerance)), undefined, 'a stranger starts a cluster of his own');
    // Under the same man's distance, his second photo starts a new cluster too.
    await fileVisitors(verdict('unknown', ['Abdullah_Gul_1']), 0, open(same / CLUSTER_TOLERANCE_SHARE / 2));
    assert.equal(book.size, 4);
  });

  it("files a mixed event's unknown face without naming a visitor on the known verdict; skips poor and known faces", async () => {
    await fileVisitors(verdict('unknown', ['Aaron_Peirsol_1']), 0, open(1.15));
    const mixed = verdict('known', ['Abdullah_Gul_1', 'Aaron_Peirsol_1'], ['known', 'unknown']);
    const visitor = await fileVisitors(mixed, 0, open(1.15));
    assert.equal(visitor?.seen, 2, 'the stranger of the mixed event is visitor #1 now');
    assert.equal(mixed.verdict.visitor, undefined, 'a known verdict names no visitor');
    assert.equal(book.size, 2, 'the known face is not filed');
    let opened = 0;
    const poor = await fileVisitors(verdict('unknown', ['Abdullah_Gul_6']), 1.01, async () => (opened++, { book, tolerance: 1.15 }));
    assert.equal(poor, undefined);
    assert.equal(opened, 0, 'nothing to file: the book is not even opened');
  });
});
