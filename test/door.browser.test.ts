import assert from 'node:assert/strict';
import { openDashboard, waitFor, type DashboardSession } from './support/dashboard-browser';

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
    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('a stranger');
    await session.ring();

    await session.open('events');
    const events = page.locator('.pl-event');
    await events.first().waitFor({ timeout: 30_000 });
    // The demo's button is the gpio-doorbell named "doorbell": its door.
    assert.match((await events.first().locator('.pl-meta').textContent()) ?? '', / · at doorbell · doorbell$/);
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
