import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { normalQuantile } from '../../../lib/calibrate/estimate';
import { buildImpostorTable, tailOf } from '../../../lib/recognize/impostor-stats';
import {
  DEFAULT_STRANGERS_ONE_IN,
  describeStrangerTolerance,
  distanceAtPairRate,
  effectiveGallery,
  impostorTableFor,
  pairRateAtDistance,
  pairRateFor,
  parseStrangersOneIn,
  strangerTolerance,
  visitRateFor,
  type ImpostorTable,
} from '../../../lib/recognize/strangers';
import { modelIdOf } from '../../../lib/vision/onnx/recognizer';
import { modelsDir, repoRoot } from '../../support/paths';

const MOBILEFACENET = modelIdOf(path.join(modelsDir, 'mobilefacenet_foamliu_alenchen.onnx'));
const shipped = fs
  .readdirSync(path.join(repoRoot, 'lib', 'recognize', 'impostors'))
  .map((f) => JSON.parse(fs.readFileSync(path.join(repoRoot, 'lib', 'recognize', 'impostors', f), 'utf8')) as ImpostorTable);

const people = (n: number, photos = 2) => ({ photosPerPerson: Array.from({ length: n }, () => photos) });

describe('strangers let through: a tolerance from impostor statistics (lib/recognize/strangers.ts)', () => {
  it('ships a table for MobileFaceNet, keyed by the model id its embeddings carry', () => {
    const table = impostorTableFor(MOBILEFACENET);
    assert.ok(table, `no table for ${MOBILEFACENET}`);
    assert.ok(table.source.pairs > 1_000_000, `${table.source.pairs} pairs`);
  });

  it("ships a table for face-api's ResNet descriptor: its classic 0.6 lets about 1 in 100 pairs of strangers through", () => {
    const table = impostorTableFor('faceapi-resnet128');
    assert.ok(table);
    const f = pairRateAtDistance(table, 0.6);
    assert.ok(f > 3e-3 && f < 3e-2, String(f));
    // "1 in 1,000" for a household of 3: well under 0.6.
    const d = strangerTolerance('faceapi-resnet128', 1000, people(3))!.distance;
    assert.ok(d > 0.4 && d < 0.55, String(d));
  });

  for (const table of shipped) {
    it(`${table.model}: the tail falls with F, is measured down to 10^${table.measuredDownTo}, and the photos exponent lies in (0, 1]`, () => {
      assert.ok(table.tail.length > 10);
      for (let i = 1; i < table.tail.length; i++) {
        assert.ok(table.tail[i][0] < table.tail[i - 1][0], `log10 F at ${i}`);
        assert.ok(table.tail[i][1] <= table.tail[i - 1][1], `distance at ${i}`);
      }
      assert.ok(table.measuredDownTo <= -4, 'at least 10^4 pairs per tail point');
      assert.ok(table.photosExponent > 0 && table.photosExponent <= 1, String(table.photosExponent));
    });
  }

  it('solves 1 - (1 - F)^M = r for F, and back', () => {
    for (const rate of [0.1, 1e-3, 1e-5]) {
      for (const chances of [1, 7.5, 100, 10_000]) {
        const f = pairRateFor(rate, chances);
        assert.ok(Math.abs(1 - (1 - f) ** chances - rate) / rate < 1e-6, `${rate} over ${chances}`);
        assert.ok(Math.abs(visitRateFor(f, chances) - rate) / rate < 1e-9);
      }
    }
    // One chance: the rate itself; many: about r / M.
    assert.equal(pairRateFor(1e-3, 1), 1e-3);
    assert.ok(Math.abs(pairRateFor(1e-3, 1000) - 1e-6) < 1e-9);
  });

  it('reads the table both ways: F at the distance for F is F', () => {
    const table = impostorTableFor(MOBILEFACENET)!;
    for (const f of [0.05, 1e-3, 3e-5, 1e-7]) {
      const d = distanceAtPairRate(table, f);
      assert.ok(Math.abs(Math.log10(pairRateAtDistance(table, d)) - Math.log10(f)) < 1e-6, `F ${f}: d ${d}`);
    }
    // Beyond the ends: clamped.
    assert.equal(distanceAtPairRate(table, 0.9), table.tail[0][1]);
    assert.equal(distanceAtPairRate(table, 1e-30), table.tail[table.tail.length - 1][1]);
  });

  it('a bigger gallery, more photos, or a rarer setting give a stricter distance', () => {
    const d = (oneIn: number, n: number, photos = 2) => strangerTolerance(MOBILEFACENET, oneIn, people(n, photos))!.distance;
    assert.ok(d(1000, 3) > d(1000, 20) && d(1000, 20) > d(1000, 100) && d(1000, 100) > d(1000, 1000));
    assert.ok(d(1000, 20, 1) > d(1000, 20, 2) && d(1000, 20, 2) > d(1000, 20, 8));
    assert.ok(d(100, 20) > d(1000, 20) && d(1000, 20) > d(10_000, 20) && d(10_000, 20) > d(100_000, 20));
    // MobileFaceNet's distances sit near the 1.15 that was its fixed tolerance, stricter with the gallery.
    assert.ok(d(1000, 1) > 1.05 && d(1000, 1) < 1.2, String(d(1000, 1)));
  });

  it('counts a person with n photos as n^e chances, and an empty gallery as one', () => {
    assert.equal(effectiveGallery({ photosPerPerson: [] }, 0.7), 1);
    assert.equal(effectiveGallery({ photosPerPerson: [1, 1, 1] }, 0.7), 3);
    assert.ok(Math.abs(effectiveGallery({ photosPerPerson: [4, 0] }, 0.5) - 2) < 1e-12);
    const t = strangerTolerance(MOBILEFACENET, 1000, { photosPerPerson: [2, 3, 0] })!;
    assert.equal(t.people, 2);
    assert.equal(t.photos, 5);
  });

  it('has no answer for a model without a table (the caller keeps the recognizer\'s own tolerance)', () => {
    assert.equal(strangerTolerance('onnx:some-other-model@000000000000', 1000, people(5)), undefined);
    assert.equal(strangerTolerance(undefined, 1000, people(5)), undefined);
  });

  it('reads the setting, and describes the distance in force for the status', () => {
    assert.equal(parseStrangersOneIn('10000'), 10_000);
    assert.equal(parseStrangersOneIn(''), DEFAULT_STRANGERS_ONE_IN);
    assert.equal(parseStrangersOneIn(undefined), 1000);
    assert.equal(parseStrangersOneIn('1'), 1000);
    const t = strangerTolerance(MOBILEFACENET, 1000, people(20))!;
    assert.match(describeStrangerTolerance(t), /^distance \d\.\d\d for 1 in 1,000 · 20 people$/);
    assert.match(describeStrangerTolerance(strangerTolerance(MOBILEFACENET, 100_000, people(1))!), /for 1 in 100,000 · 1 person$/);
  });
});

describe('impostor tables (lib/recognize/impostor-stats.ts)', () => {
  it('measures quantiles where pairs are plentiful and extrapolates a normal tail below', () => {
    // Distances drawn from a known normal distribution (mean 1.4, sd 0.1), by their quantiles.
    const n = 200_000;
    const sorted = Float32Array.from({ length: n }, (_, i) => 1.4 + 0.1 * normalQuantile((i + 0.5) / n)).sort();
    const { tail, measuredDownTo } = tailOf(sorted, { minPairs: 50 });
    assert.equal(measuredDownTo, -3.5);
    for (const [x, d] of tail) {
      const expected = 1.4 + 0.1 * normalQuantile(10 ** x);
      assert.ok(Math.abs(d - expected) < 0.01, `10^${x}: ${d} vs ${expected}`);
    }
  });

  it('builds a table from photos grouped by person: pairs of different people only, photos capped per person', () => {
    // Two-dimensional "embeddings": each person on a circle, photos spread around their point.
    const group = Array.from({ length: 300 }, (_, p) =>
      Array.from({ length: p % 10 === 0 ? 9 : 3 }, (_, k) => Float32Array.of(Math.cos(p) + 0.01 * k, Math.sin(p) - 0.01 * k)),
    );
    const table = buildImpostorTable(group, { model: 'test', source: { dataset: 'circle', pipeline: 'none', split: 'all' }, photosPerPerson: 4, lowest: -4 });
    const images = 30 * 4 + 270 * 3;
    assert.equal(table.source.images, images);
    assert.equal(table.source.pairs, (images * (images - 1)) / 2 - 30 * 6 - 270 * 3);
    assert.equal(table.tail[0][0], -1);
    assert.equal(table.tail[table.tail.length - 1][0], -4);
    assert.ok(table.photosExponent > 0 && table.photosExponent <= 1);
  });
});
