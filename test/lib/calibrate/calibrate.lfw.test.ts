import assert from 'node:assert/strict';
import { limitPairs } from '../../../cli/lfw';
import { estimateTolerance, shareAtOrBelow } from '../../../lib/calibrate';
import { WorkerPool } from '../../../lib/workers/pool';
import { defaultSelection, embedLfwImages, lfwFolds } from '../../support/lfw-embeddings';

/**
 * The calibration check: LFW's pairs.txt folds used as a household's
 * history. For each fold, the tolerance is estimated from the other nine
 * folds' pairs (matched = genuine, mismatched = impostor) for a target
 * false-accept rate, and the FAR is measured on the held-out fold.
 *
 * Pairs per fold: PORCHLIGHT_LFW_PAIRS (default 80, the first 40 matched and
 * 40 mismatched of each fold, as `porchlight eval lfw --limit 80`; `all` for
 * the 600 of the full protocol). 40 impostor pairs cannot measure 2 % on one
 * fold (0.8 expected), so the held-out counts are pooled over the ten folds
 * (400 pairs, 8 expected at 2 %); per-fold figures are printed. A target is
 * asserted only where at least 5 false accepts are expected in the pooled
 * held-out pairs (2 % and 5 % by default; also 1 % with all pairs).
 */
describe('calibration on LFW folds (default pipeline)', function () {
  this.timeout(60 * 60_000);
  let pool: WorkerPool;

  before(() => {
    pool = new WorkerPool({ threads: 2, maxQueue: 64, taskTimeoutMs: 120_000 });
  });
  after(async () => {
    await pool?.close();
  });

  it('the tolerance fitted on nine folds gives the target FAR on the tenth, within a factor of 2', async () => {
    const wanted = process.env.PORCHLIGHT_LFW_PAIRS ?? '80';
    const folds = wanted === 'all' ? lfwFolds() : limitPairs({ sets: lfwFolds() }, Number(wanted)).sets;
    const selection = await defaultSelection(pool);
    const embeddings = await embedLfwImages(pool, selection, folds.flat().flatMap((p) => [p.a, p.b]), console.log);
    const distance = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - b[i]));
    // A pair with a face missing cannot be scored; it is left out (one image of 7,701 has no face).
    const scored = folds.map((fold) =>
      fold.flatMap((pair) => {
        const [a, b] = [embeddings.get(pair.a), embeddings.get(pair.b)];
        return a && b ? [{ same: pair.same, distance: distance(a, b) }] : [];
      }),
    );
    const pairsPerFold = scored.map((f) => f.length);
    console.log(`      ${selection.recognizer}: ${pairsPerFold.reduce((a, b) => a + b, 0)} pairs scored in ${folds.length} folds`);

    // 1 in 1,000 and 1 % only where the held-out pairs can measure them (the full protocol).
    for (const targetFar of [0.001, 0.01, 0.02, 0.05]) {
      let accepted = 0;
      let impostors = 0;
      let genuineAccepted = 0;
      let genuine = 0;
      const perFold: string[] = [];
      for (let held = 0; held < scored.length; held++) {
        const fit = scored.filter((_, i) => i !== held).flat();
        const estimate = estimateTolerance(
          { genuine: fit.filter((p) => p.same).map((p) => p.distance), impostor: fit.filter((p) => !p.same).map((p) => p.distance) },
          targetFar,
        );
        const test = scored[held];
        const testImpostor = Float64Array.from(test.filter((p) => !p.same).map((p) => p.distance)).sort();
        const testGenuine = Float64Array.from(test.filter((p) => p.same).map((p) => p.distance)).sort();
        const far = shareAtOrBelow(testImpostor, estimate.tolerance);
        accepted += Math.round(far * testImpostor.length);
        impostors += testImpostor.length;
        genuineAccepted += Math.round(shareAtOrBelow(testGenuine, estimate.tolerance) * testGenuine.length);
        genuine += testGenuine.length;
        perFold.push(`${held + 1}: t=${estimate.tolerance.toFixed(3)} (${estimate.method}) FAR ${(far * 100).toFixed(1)} %`);
      }
      const pooledFar = accepted / impostors;
      const tar = genuineAccepted / genuine;
      console.log(`      target FAR ${targetFar * 100} %: held-out FAR ${(pooledFar * 100).toFixed(2)} % (${accepted}/${impostors}), TAR ${(tar * 100).toFixed(2)} %`);
      console.log(`        ${perFold.join('; ')}`);
      if (targetFar * impostors < 5) {
        console.log(`        (not asserted: ${(targetFar * impostors).toFixed(1)} false accepts expected in ${impostors} pairs is too few to measure)`);
        continue;
      }
      assert.ok(pooledFar >= targetFar / 2 && pooledFar <= targetFar * 2, `held-out FAR ${pooledFar} for a target of ${targetFar}`);
    }
  });
});
