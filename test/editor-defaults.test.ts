import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './support/paths';

/**
 * Every number field of every node's editor dialog holds its default within the field's own
 * min, max and step: a browser marks a value off the step grid (counted from min) invalid,
 * which Node-RED's editor shows as a red border on a dialog nobody has touched yet.
 */
describe('the editor dialogs: no number field invalid at its default (nodes/*/*.html)', () => {
  const nodesDir = path.join(repoRoot, 'nodes');
  const htmlFiles = fs.readdirSync(nodesDir).flatMap((folder) =>
    fs.existsSync(path.join(nodesDir, folder, `${folder}.html`)) ? [path.join(nodesDir, folder, `${folder}.html`)] : [],
  );

  it('finds the editors', () => {
    assert.ok(htmlFiles.length >= 8, `editor files: ${htmlFiles.length}`);
  });

  for (const file of htmlFiles) {
    it(`${path.basename(file)}: each default sits on its field's min/max/step`, () => {
      const html = fs.readFileSync(file, 'utf8');
      const defaults = new Map<string, number>();
      for (const m of html.matchAll(/^\s*(\w+): \{ value: (-?\d+(?:\.\d+)?)\b/gm)) defaults.set(m[1], Number(m[2]));
      const problems: string[] = [];
      for (const m of html.matchAll(/<input\b[^>]*type="number"[^>]*>/g)) {
        const tag = m[0];
        const field = /id="node-(?:config-)?input-(\w+)"/.exec(tag)?.[1];
        if (!field || !defaults.has(field)) continue;
        const value = defaults.get(field)!;
        const attr = (name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
        const min = attr('min');
        const max = attr('max');
        const step = attr('step');
        if (min !== undefined && value < Number(min)) problems.push(`${field}: default ${value} below min ${min}`);
        if (max !== undefined && value > Number(max)) problems.push(`${field}: default ${value} above max ${max}`);
        if (step !== undefined && step !== 'any') {
          const steps = (value - Number(min ?? 0)) / Number(step);
          if (Math.abs(steps - Math.round(steps)) > 1e-9) problems.push(`${field}: default ${value} is off the step grid (min ${min ?? 0}, step ${step})`);
        }
      }
      assert.deepEqual(problems, []);
    });
  }
});
