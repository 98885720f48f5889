import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/paths';

/**
 * The editor's words come from the locale files (nodes/<folder>/locales/<lang>/<folder>.json, the
 * name Node-RED looks for beside <folder>.js): every key a dialog or its script asks for exists in
 * en-US, every en-US key is asked for, and no dialog shows a word of its own.
 */
const nodesDir = path.join(repoRoot, 'nodes');
const folders = fs.readdirSync(nodesDir).filter((folder) => fs.existsSync(path.join(nodesDir, folder, `${folder}.html`)));

/** Every leaf key of a catalogue, dotted (`face-detect.label.name`). */
function leafKeys(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => leafKeys(inner, prefix ? `${prefix}.${key}` : key));
}

/** The keys an editor file asks for: `data-i18n` (with its `[attr]` prefixes, `;`-separated) and `_('...')` in its script. */
function usedKeys(html: string): string[] {
  const keys = [...html.matchAll(/data-i18n="([^"]+)"/g)].flatMap((m) => m[1].split(';').map((key) => key.replace(/^\[[^\]]+\]/, '')));
  const scripted = [...html.matchAll(/\b_\('([^']+)'/g)].map((m) => m[1]);
  // outputLabels pick their key from a list: `this._(['a.b', 'a.c'][index])`.
  const listed = [...html.matchAll(/\b_\(\[([^\]]+)\]/g)].flatMap((m) => [...m[1].matchAll(/'([^']+)'/g)].map((k) => k[1]));
  // A key chosen by a condition: `cond ? 'x.y.z' : 'x.y.w'` inside a _() call's first argument.
  const chosen = [...html.matchAll(/\b_\(([^,()]+\?[^,()]+:[^,()]+)[,)]/g)].flatMap((m) => [...m[1].matchAll(/'([^']+)'/g)].map((k) => k[1]));
  const assigned = [...html.matchAll(/var key = [^;]*;/g)].flatMap((m) => [...m[0].matchAll(/'([^']+)'/g)].map((k) => k[1]));
  return [...new Set([...keys, ...scripted, ...listed, ...chosen, ...assigned])];
}

/** Visible words written into a dialog template rather than taken from the catalogue. */
function literalWords(template: string): string[] {
  const text = template
    .replace(/<[^>]+>/g, '\n')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /[A-Za-z]/.test(line));
  const placeholders = [...template.matchAll(/\splaceholder="([^"]*)"/g)].map((m) => m[1]).filter((p) => /^[a-z]+( [a-z]+)+$/i.test(p));
  return [...text, ...placeholders.map((p) => `placeholder "${p}"`)];
}

describe('the editor dialogs: labels from the locale files (nodes/*/locales)', () => {
  it('finds the editors', () => {
    assert.ok(folders.length >= 8, `editor files: ${folders.length}`);
  });

  for (const folder of folders) {
    describe(`${folder}.html`, () => {
      const html = fs.readFileSync(path.join(nodesDir, folder, `${folder}.html`), 'utf8');
      const catalogueFile = path.join(nodesDir, folder, 'locales', 'en-US', `${folder}.json`);

      it(`has its en-US catalogue named after ${folder}.js, and its help beside it`, () => {
        assert.ok(fs.existsSync(catalogueFile), catalogueFile);
        assert.ok(fs.existsSync(path.join(nodesDir, folder, 'locales', 'en-US', `${folder}.html`)), 'en-US help');
      });

      it('asks only for keys en-US has, and en-US has no key it never asks for', () => {
        const catalogue = leafKeys(JSON.parse(fs.readFileSync(catalogueFile, 'utf8')));
        const used = usedKeys(html);
        assert.ok(used.length > 0, 'the dialog uses the catalogue');
        assert.deepEqual(used.filter((key) => !catalogue.includes(key)), [], 'keys missing from en-US');
        assert.deepEqual(catalogue.filter((key) => !used.includes(key)), [], 'en-US keys nothing uses');
      });

      it('writes no words of its own into the dialog', () => {
        const template = /<script type="text\/html" data-template-name="[^"]+">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
        assert.ok(template, 'the dialog template');
        // face-db's actions are msg.action's own values, shown as they are written in a message.
        const withoutActions = template.replace(/<select id="node-input-action">[\s\S]*?<\/select>/, '');
        assert.deepEqual(literalWords(withoutActions), []);
      });
    });
  }

  it('every language folder holds the same files, with the same keys as en-US', () => {
    const problems: string[] = [];
    for (const folder of folders) {
      const localesDir = path.join(nodesDir, folder, 'locales');
      const english = leafKeys(JSON.parse(fs.readFileSync(path.join(localesDir, 'en-US', `${folder}.json`), 'utf8'))).sort();
      for (const lang of fs.readdirSync(localesDir).filter((l) => l !== 'en-US')) {
        const file = path.join(localesDir, lang, `${folder}.json`);
        if (!fs.existsSync(file)) problems.push(`${folder}: ${lang} has no ${folder}.json`);
        else if (JSON.stringify(leafKeys(JSON.parse(fs.readFileSync(file, 'utf8'))).sort()) !== JSON.stringify(english)) problems.push(`${folder}: ${lang} keys differ from en-US`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the build copies every locale folder next to the compiled node', () => {
    for (const folder of folders) {
      for (const lang of fs.readdirSync(path.join(nodesDir, folder, 'locales'))) {
        for (const file of fs.readdirSync(path.join(nodesDir, folder, 'locales', lang))) {
          assert.ok(fs.existsSync(path.join(repoRoot, 'dist', 'nodes', folder, 'locales', lang, file)), `dist/nodes/${folder}/locales/${lang}/${file}`);
        }
      }
    }
  });
});
