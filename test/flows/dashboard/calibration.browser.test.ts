import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { lfwDir } from '../../support/paths';
import { DESKTOP, PHONE, openDashboard, waitFor, type DashboardSession } from '../../support/dashboard-browser';

/** LFW people enrolled through the admin API so the calibration has a history to work from (the demo has one face each). */
const HISTORY = ['Antonio_Palocci', 'Fujio_Cho', 'Michael_Jackson'];

describe('corrections and calibration on the dashboard (Debian chromium + playwright-core)', function () {
  this.timeout(600_000);
  let session: DashboardSession;
  let page: DashboardSession['page'];
  const api = (path: string, init?: RequestInit) => fetch(`${session.demo.baseUrl}porchlight/${path}`, init);

  before(async () => {
    session = await openDashboard();
    page = session.page;
  });

  /** Enrols the LFW people through the admin API: four photos each. */
  const enrolHistory = async () => {
    for (const person of HISTORY) {
      const files = fs.readdirSync(path.join(lfwDir, person)).sort().slice(0, 4);
      const images = files.map((file) => fs.readFileSync(path.join(lfwDir, person, file)).toString('base64'));
      const response = await api('faces', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: person, images }) });
      assert.ok(response.ok, `enrolling ${person}: ${response.status} ${await response.text()}`);
    }
  };

  after(async () => {
    await session?.close();
  });

  it('"Yes, Mallory" and "Not Alice" on the timeline store a label, and Alice gets a negative example', async () => {
    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('Alice (known)');
    assert.equal(await session.ring(), 'Alice');
    await session.chooseVisitor('Mallory (blacklisted)');
    assert.match(await session.ring(), /Mallory/);

    await session.open('events');
    const mallory = page.locator('.pl-event[data-verdict="blacklisted"]').first();
    await mallory.getByRole('button', { name: 'Yes, Mallory' }).click();
    await waitFor('the confirmation', async () => ((await mallory.locator('.pl-feedback').textContent()) ?? '').match(/^(Noted|Not done|Could not).*/)?.[0], 60_000);
    assert.equal(((await mallory.locator('.pl-feedback').textContent()) ?? '').trim(), 'Noted: that was Mallory');

    const alice = page.locator('.pl-event[data-verdict="known"]').first();
    await alice.getByRole('button', { name: 'Not Alice' }).click();
    await waitFor('the correction', async () => ((await alice.locator('.pl-feedback').textContent()) ?? '').match(/^(Noted|Not done|Could not).*/)?.[0], 60_000);
    assert.match(((await alice.locator('.pl-feedback').textContent()) ?? '').trim(), /^Noted: not Alice/);
    await session.screenshot('events-not-x');

    const { faces } = (await (await api('faces/by-name/Alice')).json()) as { faces: Array<{ kind: string; source: string }> };
    const negatives = faces.filter((f) => f.kind === 'negative');
    assert.equal(negatives.length, 1, 'Alice has one negative example');
    assert.match(negatives[0].source, /^event:/);
  });

  it('refuses to suggest from one face each, says how many more faces or visits of whom, on a phone too', async () => {
    // The demo's Alice and Mallory have one photo each; Mallory has one visit labelled "yes" since.
    for (const size of [DESKTOP, PHONE]) {
      await session.resize(size);
      await session.open('calibration');
      const needs = page.getByTestId('calibration-needs');
      await needs.waitFor({ timeout: 60_000 });
      assert.match(
        ((await needs.textContent()) ?? '').trim(),
        /^Not enough to suggest a tolerance yet: it needs 2 more faces or labelled visits of Mallory and 3 more of Alice \(2 people with at least 4 each\)\. The history holds 2 faces and 1 labelled visit\./,
      );
      assert.doesNotMatch((await needs.textContent()) ?? '', /pair/);
      assert.equal(((await page.getByTestId('calibration-no-data').textContent()) ?? '').trim(), 'No data yet', 'the empty chart says so');
      assert.equal(await page.locator('.pl-cal-xaxis text').count(), 1, 'no made-up distances under an empty chart: only the x label');
      assert.equal(await page.getByTestId('calibration-global').count(), 0, 'no suggested value');
      assert.ok(await page.getByRole('button', { name: 'Apply...' }).isDisabled(), 'nothing to apply');
      await assertAxes();
      await session.assertUsable(page.locator('.pl-cal-target'), `the target at ${size.width} px`, 160);
      await assertWhole(page.locator('.pl-cal-target .v-field-label--floating'), `the target's label at ${size.width} px`);
      await assertWhole(page.locator('.pl-cal-target .v-select__selection-text'), `the target's value at ${size.width} px`);
      await session.assertUsable(page.getByRole('button', { name: "Back to the nodes' tolerance" }), `Back to the nodes' tolerance at ${size.width} px`);
      await session.assertUsable(needs, `the words of what is missing at ${size.width} px`, 200);
      await session.assertNoSideScroll(`the Calibration page at ${size.width} px`);
      await session.screenshot(size === PHONE ? 'calibration-needs-phone' : 'calibration-needs');
    }
    await session.resize(DESKTOP);
    const refused = await api('calibration/apply', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ strangers: 100 }) });
    assert.equal(refused.status, 400, 'the API refuses to apply from too little history too');
    assert.deepEqual((await (await api('calibration/history')).json()).tolerances, []);
  });

  /** A text shown in full: nothing of it cut off by its box (an ellipsis or a clip). */
  const assertWhole = async (locator: ReturnType<typeof page.locator>, what: string) => {
    await locator.waitFor({ state: 'visible' });
    const [shown, needed, text] = await locator.evaluate((el) => [el.clientWidth, el.scrollWidth, (el.textContent ?? '').trim()] as const);
    assert.ok(text.length > 0 && needed <= shown + 1, `${what}: "${text}" needs ${needed} px, shows ${shown} px`);
  };

  /** Both axes labelled, with ticks. */
  const assertAxes = async () => {
    const svg = page.locator('svg.pl-cal-curve');
    const texts = (await svg.locator('text').allTextContents()).map((t) => t.trim());
    assert.ok(texts.includes('share of visits'), `a y label (${texts.join(' | ')})`);
    assert.ok(texts.includes('tolerance: distance between two faces'), 'an x label');
    for (const tick of ['0 %', '50 %', '100 %']) assert.ok(texts.includes(tick), `the y tick ${tick}`);
  };

  it('draws both curves with the suggestion inside them, asks before applying in words and numbers, and lists what changed', async () => {
    await enrolHistory();
    await session.open('calibration');
    const global = page.getByTestId('calibration-global');
    await global.waitFor({ timeout: 60_000 });
    assert.match((await global.textContent()) ?? '', /Suggested tolerance \d\.\d{3}/);
    const expected = page.getByTestId('calibration-expected');
    // The aim, or what the history measures when its strangers come closer (here Alice's "not Alice" face).
    assert.match(
      ((await expected.textContent()) ?? '').trim(),
      /^Strangers let through: about (1 in 1,000 visits \(0\.1 %\)|1 in [\d,.]+ visits \(\d+\.\d+ %\)|\d+ % of visits)\. Genuine visits missed: (about 1 in [\d,.]+ visits \(\d+\.\d %\)|about \d+ % of visits|none in the history \(0 %\))\.( More than aimed at: faces of different people in the history come closer than this\.)?$/,
    );
    await assertAxes();
    assert.ok((await page.locator('.pl-cal-xaxis text').count()) >= 4, 'x ticks under the curves, besides the x label');
    // Both curves, each from the left edge of the plot to its right, and the suggested value within them.
    const frame = (await page.locator('svg.pl-cal-curve rect').first().boundingBox())!;
    for (const curve of ['polyline.pl-cal-tar', 'polyline.pl-cal-strangers']) {
      const points = ((await page.locator(curve).getAttribute('points')) ?? '').split(' ').filter(Boolean);
      assert.ok(points.length > 10, `${curve} is drawn (${points.length} points)`);
    }
    const suggestedLine = (await page.locator('line.pl-cal-suggested').boundingBox())!;
    assert.ok(suggestedLine.x >= frame.x && suggestedLine.x <= frame.x + frame.width, `the suggested value inside the x range (${suggestedLine.x} in ${frame.x}..${frame.x + frame.width})`);
    assert.equal(await page.getByTestId('calibration-no-data').count(), 0);
    for (const person of HISTORY) assert.equal(await page.locator(`.pl-cal-people tr[data-person="${person}"]`).count(), 1);

    const before = (await global.textContent()) ?? '';
    await page.getByRole('combobox', { name: 'Strangers let through, about' }).click({ force: true });
    await page.getByRole('option', { name: '1 in 100 visits', exact: true }).click();
    await waitFor('the 1 in 100 suggestion', async () => ((await page.locator('.pl-cal-target').textContent()) ?? '').match(/1 in 100 visits/)?.[0], 30_000);
    await waitFor('the suggestion for it', async () => ((await global.count()) === 1 && (await global.textContent()) !== before ? true : undefined), 30_000);
    const suggested = Number(/Suggested tolerance (\d\.\d{3})/.exec((await global.textContent()) ?? '')![1]);

    // Apply asks first, on the page, in words and numbers; saying no changes nothing.
    const feedback = page.locator('.pl-calibration > .pl-feedback');
    const confirm = page.getByTestId('calibration-confirm');
    await page.getByRole('button', { name: 'Apply...' }).click();
    const question = ((await confirm.textContent()) ?? '').trim();
    assert.match(question, /^Put tolerance \d\.\d{3} in force for everyone\? Strangers let through: about (1 in 100 visits \(1\.0 %\)|1 in [\d,.]+ visits \(\d+\.\d %\)|\d+ % of visits)\. Genuine visits missed: /);
    await page.getByRole('button', { name: 'No, keep what is in force' }).click();
    assert.equal(((await feedback.textContent()) ?? '').trim(), 'Not applied: nothing changed.');
    assert.deepEqual((await (await api('calibration/history')).json()).changes, []);

    await page.getByRole('button', { name: 'Apply...' }).click();
    await session.resize(PHONE);
    await session.assertUsable(page.getByRole('button', { name: 'Yes, apply it' }), 'Yes, apply it at 390 px');
    await session.assertUsable(confirm, 'the question at 390 px', 300);
    await session.assertNoSideScroll('the Calibration page with its question at 390 px');
    await session.screenshot('calibration-confirm-phone');
    await session.resize(DESKTOP);
    await session.screenshot('calibration-confirm');
    await page.getByRole('button', { name: 'Yes, apply it' }).click();
    await waitFor('the change to be applied', async () => ((await feedback.textContent()) ?? '').match(/^(Applied|Not done).*/)?.[0], 60_000);
    assert.equal(((await feedback.textContent()) ?? '').trim(), 'Applied: strangers let through about 1 in 100 visits');
    await waitFor('the record of the change', async () => ((await page.locator('.pl-cal-history tbody tr').count()) > 0 ? true : undefined), 30_000);
    await waitFor('what is in force now, in words', async () => ((await global.textContent()) ?? '').match(/In force now: tolerance \d\.\d{3}\. Strangers let through: /)?.[0], 30_000);
    assert.equal(await page.locator('line.pl-cal-now-line').count(), 1, 'the tolerance in force drawn on the chart');
    await session.screenshot('calibration');
    await session.resize(PHONE);
    await session.assertNoSideScroll('the Calibration page at 390 px');
    await session.screenshot('calibration-phone');
    await session.resize(DESKTOP);

    const { targetFar } = (await (await api('calibration?strangers=100')).json()) as { targetFar: number };
    const { changes, tolerances } = (await (await api('calibration/history')).json()) as {
      changes: Array<{ personName: string | null; newTolerance: number; targetFar: number }>;
      tolerances: Array<{ personId: number | null; tolerance: number }>;
    };
    const everyone = changes.find((c) => c.personName === null)!;
    assert.ok(Math.abs(everyone.targetFar - targetFar) < 1e-12 && targetFar < 0.01, `1 in 100 visits is a stricter share of single comparisons (${targetFar})`);
    assert.ok(Math.abs(everyone.newTolerance - suggested) < 0.001, `applied ${everyone.newTolerance}, shown ${suggested}`);
    assert.ok(tolerances.some((t) => t.personId === null));
    assert.equal(changes.length, 1 + HISTORY.length + 2, 'the DB-wide tolerance and one per person (Alice, Mallory and the three enrolled)');
  });
});
