import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { choiceSetting, flagSetting, NODE_DEFAULTS } from '../../lib/settings';
import { repoRoot } from '../support/paths';

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

/** The defaults an editor file writes: `field: { value: <number, 'text' or boolean> ...`, by field. */
function editorDefaults(html: string): Map<string, number | string | boolean> {
  const values = new Map<string, number | string | boolean>();
  for (const m of html.matchAll(/^\s*(\w+):\s*\{\s*value:\s*(-?\d+(?:\.\d+)?|'[^']*'|"[^"]*"|true|false)\s*[,}]/gm)) {
    const raw = m[2];
    values.set(m[1], raw === 'true' ? true : raw === 'false' ? false : /^['"]/.test(raw) ? raw.slice(1, -1) : Number(raw));
  }
  return values;
}

/** Fields whose editor value is not a setting with a default (the node's output count). */
const NOT_SETTINGS = new Set(['outputs']);

/** The fields an editor file shows as a checkbox or a select. */
function choiceFields(html: string): string[] {
  const checkboxes = [...html.matchAll(/<input\b[^>]*type="checkbox"[^>]*>/g)].map((m) => /id="node-(?:config-)?input-(\w+)"/.exec(m[0])?.[1]);
  const selects = [...html.matchAll(/<select\b[^>]*id="node-(?:config-)?input-(\w+)"/g)].map((m) => m[1]);
  return [...checkboxes, ...selects].filter((field): field is string => !!field);
}

describe("the editor dialogs' default values are lib's (lib/settings NODE_DEFAULTS)", () => {
  const nodesDir = path.join(repoRoot, 'nodes');
  const folders = fs.readdirSync(nodesDir).filter((folder) => fs.existsSync(path.join(nodesDir, folder, `${folder}.html`)));

  it('every node with an editor has its defaults in lib, and lib names no node without one', () => {
    assert.deepEqual(Object.keys(NODE_DEFAULTS).sort(), [...folders].sort());
  });

  for (const folder of folders) {
    it(`${folder}.html: each default the node falls back to is the value the dialog shows, and every number in the dialog is one of them`, () => {
      const shown = editorDefaults(fs.readFileSync(path.join(nodesDir, folder, `${folder}.html`), 'utf8'));
      const lib: Record<string, unknown> = NODE_DEFAULTS[folder as keyof typeof NODE_DEFAULTS] ?? {};
      const problems: string[] = [];
      for (const [field, value] of Object.entries(lib)) {
        if (!shown.has(field)) problems.push(`${field}: lib's default ${JSON.stringify(value)}, no default in the dialog`);
        else if (shown.get(field) !== value) problems.push(`${field}: the dialog shows ${JSON.stringify(shown.get(field))}, lib's default is ${JSON.stringify(value)}`);
      }
      for (const [field, value] of shown) {
        if (typeof value === 'number' && !NOT_SETTINGS.has(field) && !(field in lib)) problems.push(`${field}: the dialog's ${value} is not in lib's defaults`);
      }
      assert.deepEqual(problems, []);
    });
  }

  for (const folder of folders) {
    it(`${folder}.html: each checkbox and select default is lib's`, () => {
      const html = fs.readFileSync(path.join(nodesDir, folder, `${folder}.html`), 'utf8');
      const shown = editorDefaults(html);
      const lib: Record<string, unknown> = NODE_DEFAULTS[folder as keyof typeof NODE_DEFAULTS];
      const fields = choiceFields(html);
      assert.ok(fields.length >= 1, `checkboxes and selects found: ${fields.join(', ')}`);
      const problems = fields.flatMap((field) =>
        !shown.has(field) ? [`${field}: no default in the dialog`] : !(field in lib) ? [`${field}: the dialog's ${JSON.stringify(shown.get(field))} is not in lib's defaults`] : [],
      );
      assert.deepEqual(problems, []);
    });
  }
});

describe("a setting a flow never gave takes the dialog's default (lib/settings flagSetting, choiceSetting)", () => {
  it('a checkbox: undefined, null or blank text is the default; true or "true" is on, anything else off', () => {
    for (const unsaid of [undefined, null, '', '  ']) {
      assert.equal(flagSetting(unsaid, true), true);
      assert.equal(flagSetting(unsaid, false), false);
    }
    assert.equal(flagSetting(false, true), false);
    assert.equal(flagSetting('false', true), false);
    assert.equal(flagSetting(true, false), true);
    assert.equal(flagSetting('true', false), true);
  });

  it('a select: the trimmed choice, or the default when unset, not text or (with choices) none of them', () => {
    const policies = ['drop-oldest', 'reject', 'wait'] as const;
    assert.equal(choiceSetting(' reject ', 'wait', policies), 'reject');
    for (const odd of [undefined, null, '', 'sometimes', 3]) assert.equal(choiceSetting(odd, 'wait', policies), 'wait');
    assert.equal(choiceSetting('tiny-face-detector', 'engine'), 'tiny-face-detector');
    assert.equal(choiceSetting('', 'engine'), 'engine');
  });
});
