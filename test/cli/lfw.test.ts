import assert from 'node:assert/strict';
import { accuracyAt, bestThreshold, kFold, limitPairs, parsePairs, type ScoredPair } from '../../cli/lfw';

describe('LFW protocol (pairs files, thresholds, k-fold)', () => {
  it('parses pairs.txt (sets x matched + mismatched) into image paths', () => {
    const text = '2\t1\nAlice\t1\t2\nAlice\t1\tBob\t3\nCarol\t2\t4\nCarol\t1\tDave\t12\n';
    const list = parsePairs(text, '/lfw');
    assert.equal(list.sets.length, 2);
    assert.deepEqual(list.sets[0][0], { a: '/lfw/Alice/Alice_0001.jpg', b: '/lfw/Alice/Alice_0002.jpg', same: true });
    assert.deepEqual(list.sets[1][1], { a: '/lfw/Carol/Carol_0001.jpg', b: '/lfw/Dave/Dave_0012.jpg', same: false });
  });

  it('parses pairsDevTest.txt (one set) and refuses a file of the wrong length', () => {
    assert.equal(parsePairs('1\nA\t1\t2\nA\t1\tB\t1\n', '/x').sets.length, 1);
    assert.throws(() => parsePairs('2\t1\nA\t1\t2\n', '/x'), /says 2 x 2 x 1 pairs but has 1 lines/);
    assert.throws(() => parsePairs('hello\n', '/x'), /not an LFW pairs file/);
  });

  it('limits each set to half matched, half mismatched pairs', () => {
    const list = parsePairs('1\t3\nA\t1\t2\nA\t1\t3\nA\t2\t3\nA\t1\tB\t1\nA\t2\tB\t1\nA\t3\tB\t1\n', '/x');
    const limited = limitPairs(list, 2);
    assert.deepEqual(limited.sets[0].map((p) => p.same), [true, false]);
  });

  it('picks the threshold that separates the classes and counts missing faces as wrong', () => {
    const pairs: ScoredPair[] = [
      { same: true, distance: 0.3 },
      { same: true, distance: 0.5 },
      { same: false, distance: 0.7 },
      { same: false, distance: 0.9 },
    ];
    const t = bestThreshold(pairs);
    assert.ok(t > 0.5 && t < 0.7, `threshold ${t}`);
    assert.equal(accuracyAt(pairs, t), 1);
    assert.equal(accuracyAt([...pairs, { same: false, distance: null }], t), 0.8);
  });

  it('k-fold scores each fold at the threshold chosen on the others', () => {
    const fold = (shift: number): ScoredPair[] => [
      { same: true, distance: 0.4 + shift },
      { same: false, distance: 0.8 + shift },
    ];
    const report = kFold([fold(0), fold(0), fold(0.3)]);
    assert.equal(report.folds.length, 3);
    assert.equal(report.folds[0], 1);
    // The shifted fold's matched pair (0.7) lies beyond the threshold learnt on the others (0.4..0.8).
    assert.ok(report.thresholds[2] < 0.8);
    assert.ok(report.accuracy < 1 && report.std > 0);
  });
});
