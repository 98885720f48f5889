import assert from 'node:assert/strict';
import { openDashboard, waitFor, type DashboardSession } from '../../support/dashboard-browser';

describe('the dashboard timeline filters by door (Debian chromium + playwright-core)', function () {
  this.timeout(600_000);
  let session: DashboardSession;

  before(async () => {
    session = await openDashboard();
  });

  after(async () => {
    await session?.close();
  });

  it('shows each event\'s door and lists only the door typed in the Door filter', async () => {
    const { page } = session;
    // Before anyone rang: both charts say so, not bare axes.
    await session.open('charts');
    await waitFor('"no data yet" above both charts', async () => ((await page.getByTestId('chart-no-data').count()) === 2 ? true : undefined), 30_000);
    assert.match((await page.getByTestId('chart-no-data').first().textContent()) ?? '', /^No data yet/);
    await session.screenshot('charts-no-data');

    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('a stranger');
    await session.ring();

    await session.open('events');
    const events = page.locator('.pl-event');
    await events.first().waitFor({ timeout: 30_000 });
    // The demo's button is the gpio-doorbell named "doorbell": its door.
    // The door named once (the trigger is the same button), a relative day, and the wait for the verdict.
    const meta = ((await events.first().locator('.pl-meta').textContent()) ?? '').trim();
    assert.match(meta, /^today .+ · at doorbell · verdict after \d+(\.\d)? (ms|s)$/);
    assert.equal(meta.split('doorbell').length - 1, 1, `the door once: ${meta}`);
    assert.equal(((await page.locator('.pl-total').textContent()) ?? '').trim(), '1 event', 'one event, in the singular');
    const total = async () => ((await page.locator('.pl-total').textContent()) ?? '').trim();
    const all = await total();

    await page.getByTestId('door-filter').locator('input').fill('garage');
    await waitFor('the garage filter', async () => ((await total()) === '0 events' ? true : undefined), 15_000);
    assert.equal(await events.count(), 0);

    await page.getByTestId('door-filter').locator('input').fill('doorbell');
    await waitFor('the doorbell filter', async () => ((await total()) === all ? true : undefined), 15_000);
    assert.ok((await events.count()) >= 1);
    await session.screenshot('timeline-door-filter');
  });
});
