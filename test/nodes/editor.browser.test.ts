import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '../support/paths';
import { startDemo, type DemoServer } from '../../scripts/demo-server';
import { tempDir } from '../support/temp';

/**
 * Node-RED's own editor, as `npm start` serves it, in headless Chromium: the palette, and every
 * Porchlight dialog opened at its defaults. What a user sees before touching anything:
 * - each palette label is the card's name, on one line;
 * - no field has a red (invalid) border;
 * - every label came from the locale files (none shows a raw key);
 * - every select is wide enough for its longest option, whatever the other selects show.
 */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const TYPES = Object.keys(packageJson['node-red'].nodes) as string[];
const CONFIG_TYPES = ['porchlight-engine', 'porchlight-db'];
const FLOW_TYPES = TYPES.filter((type) => !CONFIG_TYPES.includes(type));

interface DialogReport {
  invalid: string[];
  rawKeys: string[];
  narrowSelects: string[];
  selects: number;
}

/** Runs in the page: inspects the open edit dialog (the tray's form). */
function inspectDialog(): DialogReport {
  const forms = document.querySelectorAll('form#dialog-form, form#node-config-dialog-edit-form');
  const form = forms[forms.length - 1] as HTMLElement | undefined;
  if (!form) throw new Error('no edit dialog open');
  const visible = (el: Element) => (el as HTMLElement).offsetParent !== null;
  const describe = (el: Element) => {
    const select = el as HTMLSelectElement;
    const options = el.tagName === 'SELECT' ? ` among [${Array.from(select.options).map((o) => `${o.value}: ${o.text}`).join(', ')}]` : '';
    return `${el.id || el.className} = "${(el as HTMLInputElement).value}"${options}`;
  };
  const invalid = Array.from(form.querySelectorAll('.input-error')).filter(visible).map(describe);
  const keyLike = /^[a-z-]+\.(label|placeholder|text|unit|tip|outputs|[a-zA-Z]+)\.[\w.-]+$/;
  const texts = Array.from(form.querySelectorAll('label, span, option, div.form-tips, b')).map((el) => (el.textContent ?? '').trim());
  const placeholders = Array.from(form.querySelectorAll('[placeholder]')).map((el) => el.getAttribute('placeholder') ?? '');
  const rawKeys = [...texts, ...placeholders].filter((text) => keyLike.test(text));
  // Every select is checked with every option of every select chosen in turn: rows that one
  // select shows (PostgreSQL settings, GPIO line) are measured too.
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d')!;
  const narrow = new Set<string>();
  const measure = () => {
    for (const select of Array.from(form.querySelectorAll('select'))) {
      if (!visible(select) || select.id === '' || /^node-(config-)?input-(engine|db)$/.test(select.id)) continue;
      const style = getComputedStyle(select);
      context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const longest = Math.max(...Array.from(select.options).map((option) => context.measureText(option.text).width));
      // The text box inside a select: its width less padding, border and the arrow (about 20 px).
      const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
      if (room < longest) narrow.add(`${select.id}: ${Math.round(room)} px for "${Array.from(select.options).map((o) => o.text).sort((a, b) => b.length - a.length)[0]}" (${Math.round(longest)} px)`);
    }
  };
  const selects = Array.from(form.querySelectorAll('select')).filter((select) => select.id && !/^node-(config-)?input-(engine|db)$/.test(select.id));
  measure();
  for (const select of selects) {
    const original = select.value;
    for (const option of Array.from(select.options)) {
      select.value = option.value;
      select.dispatchEvent(new Event('change', { bubbles: true }));
      measure();
    }
    select.value = original;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  }
  return { invalid, rawKeys, narrowSelects: [...narrow], selects: selects.length };
}

describe('the Node-RED editor in a browser: palette and dialogs at their defaults (npm start)', function () {
  this.timeout(300_000);
  let demo: DemoServer | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let profile: string | undefined;

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt install chromium (.ci/run installs it)`);
    demo = await startDemo();
    profile = tempDir('porchlight-editor-');
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    await page.goto(demo.baseUrl);
    await page.waitForFunction((types) => {
      const red = (window as unknown as { RED?: { nodes?: { getType(t: string): unknown } } }).RED;
      return !!red?.nodes && types.every((type) => red.nodes!.getType(type)) && document.querySelectorAll('.red-ui-palette-node').length > 0;
    }, TYPES, { timeout: 120_000 });
  });

  after(async () => {
    await context?.close();
    await demo?.stop();
  });

  it('shows each node in the palette under the card\'s name, on one line, not cut off', async () => {
    const labels = await page.evaluate((types) => types.map((type) => {
      const label = document.querySelector(`.red-ui-palette-node[data-palette-type="${type}"] .red-ui-palette-label`) as HTMLElement | null;
      if (!label) return { type, text: null, lines: 0, clipped: false };
      const lineHeight = parseFloat(getComputedStyle(label).lineHeight);
      return { type, text: label.textContent, lines: Math.round(label.offsetHeight / lineHeight), clipped: label.scrollWidth > label.clientWidth };
    }), FLOW_TYPES);
    for (const { type, text, lines, clipped } of labels) {
      // The label's hyphen is U+2011, one the palette does not break at.
      assert.equal(text?.replace(/\u2011/g, '-'), type.replace(/^porchlight-/, ''), `${type}'s palette label`);
      assert.equal(lines, 1, `${type}'s palette label takes ${lines} lines`);
      assert.ok(!clipped, `${type}'s palette label is cut off`);
    }
  });

  /** Opens a dialog (by `open`, run in the page), inspects it and closes it with its Cancel button. */
  async function check(type: string, open: (t: string) => void, buttons: string): Promise<void> {
    await page.evaluate(open, type);
    await page.waitForSelector(`#${buttons}-ok`, { state: 'visible' });
    // The dialog validates as it opens; give its prepare a moment to finish.
    await page.waitForTimeout(500);
    const report = await page.evaluate(inspectDialog);
    // Cancel as the button does (a notification's shade may lie over the tray in a busy editor).
    await page.evaluate((id) => (window as unknown as { $: (s: string) => { trigger(e: string): void } }).$(`#${id}-cancel`).trigger('click'), buttons);
    await page.waitForSelector(`#${buttons}-ok`, { state: 'detached' });
    assert.ok(report.selects > 0 || type === 'porchlight-event-log', `${type}: found its selects`);
    assert.deepEqual(report.invalid, [], `${type}: fields marked invalid at their defaults`);
    assert.deepEqual(report.rawKeys, [], `${type}: labels that show a locale key, not its text`);
    assert.deepEqual(report.narrowSelects, [], `${type}: selects narrower than their options`);
  }

  for (const type of FLOW_TYPES) {
    it(`${type}: a new one (as dropped from the palette) has no invalid field, no raw key, selects wide enough`, () =>
      check(type, (t) => {
        const RED = (window as unknown as { RED: any }).RED;
        const { node } = RED.view.createNode(t);
        RED.nodes.add(node);
        RED.editor.edit(node);
      }, 'node-dialog'));
  }

  for (const type of CONFIG_TYPES) {
    it(`${type} (config): a new one has no invalid field, no raw key, selects wide enough`, () =>
      check(type, (t) => (window as unknown as { RED: any }).RED.editor.editConfig('', t, '_ADD_', 'node-config-input'), 'node-config-dialog'));
  }
});
