import assert from 'node:assert/strict';
import path from 'node:path';
import { licenceVerdict, modelLicences, productionLicences } from '../../scripts/check-deps';
import { byFolder, checkFloors } from '../../scripts/coverage-report';
import { repoRoot } from '../support/paths';

/** scripts/check-deps.ts and scripts/coverage-report.ts. */
describe('dependency licences and the coverage floor', () => {
  it('judges SPDX expressions: OR takes the best side, AND the worst', () => {
    assert.equal(licenceVerdict('MIT'), 'permissive');
    assert.equal(licenceVerdict('(MIT OR GPL-3.0-only)'), 'permissive');
    assert.equal(licenceVerdict('Apache-2.0 AND LGPL-3.0-or-later AND MIT'), 'weak-copyleft');
    assert.equal(licenceVerdict('GPL-3.0-only'), 'refused');
    assert.equal(licenceVerdict('MIT AND (GPL-2.0-only OR AGPL-3.0-only)'), 'refused');
    assert.equal(licenceVerdict('SSPL-1.0'), 'refused');
    assert.equal(licenceVerdict(undefined), 'refused');
    assert.equal(licenceVerdict('UNLICENSED'), 'refused');
  });

  it('finds every production dependency and bundled model acceptable for Apache-2.0', () => {
    const deps = productionLicences(repoRoot);
    assert.ok(deps.some((d) => d.name === 'better-sqlite3'), 'production dependencies not read');
    assert.ok(!deps.some((d) => d.name === 'mocha'), 'a dev dependency counted');
    assert.deepEqual(deps.filter((d) => d.verdict === 'refused').map((d) => `${d.name} ${d.licence}`), []);
    const models = modelLicences(repoRoot);
    assert.deepEqual(models.map((m) => [m.file, m.licence, m.verdict]), [
      ['mobilefacenet_foamliu_alenchen.onnx', 'Apache-2.0', 'permissive'],
      ['yunet_s_640_640.onnx', 'Apache-2.0', 'permissive'],
    ]);
  });

  it('sums coverage by folder and fails under a floor', () => {
    const root = '/r';
    const file = (lines: [number, number], branches: [number, number]) => ({ lines: { total: lines[0], covered: lines[1] }, branches: { total: branches[0], covered: branches[1] } });
    const folders = byFolder({ total: file([0, 0], [0, 0]), [path.join(root, 'lib/a.ts')]: file([100, 90], [10, 8]), [path.join(root, 'lib/b/c.ts')]: file([100, 70], [10, 6]), [path.join(root, 'nodes/n.ts')]: file([50, 25], [4, 1]) }, root);
    assert.deepEqual(folders.lib.lines, { total: 200, covered: 160 });
    assert.deepEqual(folders.all.branches, { total: 24, covered: 15 });
    const { lines, broken } = checkFloors(folders, { lib: { lines: 80, branches: 70 }, nodes: { lines: 60, branches: 20 } });
    assert.match(lines[0], /^lib\/\s+lines  80\.00 % \(160\/200\)\s+branches  70\.00 %/);
    assert.match(lines.at(-1)!, /^all\//);
    assert.deepEqual(broken, ['nodes/ lines 50.00 % under the floor 60 %']);
  });
});
