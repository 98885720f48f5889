import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { lfwDir } from './support/paths';
import { openDashboard, waitFor, type DashboardSession } from './support/dashboard-browser';

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
    for (const person of HISTORY) {
      const files = fs.readdirSync(path.join(lfwDir, person)).sort().slice(0, 4);
      const images = files.map((file) => fs.readFileSync(path.join(lfwDir, person, file)).toString('base64'));
      const response = await api('faces', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: person, images }) });
      assert.ok(response.ok, `enrolling ${person}: ${response.status} ${await response.text()}`);
    }
  });

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

  it('shows the curve and the suggestions, applies them with one click and lists what changed', async () => {
    await session.open('calibration');
    const global = page.getByTestId('calibration-global');
    await global.waitFor({ timeout: 60_000 });
    assert.match((await global.textContent()) ?? '', /Suggested tolerance \d\.\d{3}/);
    assert.ok((await page.locator('polyline.pl-cal-far').getAttribute('points'))!.split(' ').length > 10, 'the FAR curve is drawn');
    for (const person of HISTORY) assert.equal(await page.locator(`.pl-cal-people tr[data-person="${person}"]`).count(), 1);

    await page.getByLabel('Target false accepts').click({ force: true });
    await page.getByRole('option', { name: '1 in 100', exact: true }).click();
    await waitFor('the 1 in 100 suggestion', async () => ((await global.textContent()) ?? '').match(/1 in 100 false accepts/)?.[0], 30_000);
    const suggested = Number(/Suggested tolerance (\d\.\d{3})/.exec((await global.textContent()) ?? '')![1]);

    // Apply asks first, in words; saying no changes nothing.
    const feedback = page.locator('.pl-calibration > .pl-feedback');
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitFor('the refusal', async () => ((await feedback.textContent()) ?? '').match(/^Not applied.*/)?.[0], 10_000);
    let question = '';
    page.once('dialog', (dialog) => {
      question = dialog.message();
      void dialog.accept();
    });
    await page.getByRole('button', { name: 'Apply' }).click();
    await waitFor('the question', async () => question || undefined, 10_000);
    assert.match(question, /^Put tolerance \d\.\d{3} in force for everyone\? About 1 in 100 strangers would be let through, and about (\d+\.\d %|an unknown share) of the visits of people you know would be missed\.$/);
    await waitFor('the change to be applied', async () => ((await page.locator('.pl-calibration > .pl-feedback').textContent()) ?? '').match(/^(Applied|Not done).*/)?.[0], 60_000);
    assert.match(((await page.locator('.pl-calibration > .pl-feedback').textContent()) ?? '').trim(), /^Applied for 1 in 100/);
    await waitFor('the record of the change', async () => ((await page.locator('.pl-cal-history tbody tr').count()) > 0 ? true : undefined), 30_000);
    await session.screenshot('calibration');

    const { changes, tolerances } = (await (await api('calibration/history')).json()) as {
      changes: Array<{ personName: string | null; newTolerance: number; targetFar: number }>;
      tolerances: Array<{ personId: number | null; tolerance: number }>;
    };
    const everyone = changes.find((c) => c.personName === null)!;
    assert.equal(everyone.targetFar, 0.01);
    assert.ok(Math.abs(everyone.newTolerance - suggested) < 0.001, `applied ${everyone.newTolerance}, shown ${suggested}`);
    assert.ok(tolerances.some((t) => t.personId === null));
    assert.equal(changes.length, 1 + HISTORY.length + 2, 'the DB-wide tolerance and one per person (Alice, Mallory and the three enrolled)');
  });
});
