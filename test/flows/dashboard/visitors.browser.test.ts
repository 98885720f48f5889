import assert from 'node:assert/strict';
import { DESKTOP, PHONE, openDashboard, waitFor, type DashboardSession } from '../../support/dashboard-browser';

describe('recurring visitors on the dashboard (Debian chromium + playwright-core)', function () {
  this.timeout(600_000);
  let session: DashboardSession;
  let page: DashboardSession['page'];

  before(async () => {
    session = await openDashboard();
    page = session.page;
  });

  after(async () => {
    await session?.close();
  });

  it('a stranger who rings twice is "visitor #1, seen 2 times" on the Visitors page; find this face lists the other visit', async () => {
    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('a stranger');
    assert.match(await session.ring(), /unknown|stranger/i);
    assert.match(await session.ring(), /unknown|stranger/i);
    // The door page's last visitor says who this stranger is.
    const recurring = page.getByTestId('last-visitor-recurring');
    await recurring.waitFor({ timeout: 30_000 });
    assert.match(((await recurring.textContent()) ?? '').trim(), /^visitor #1, seen 2 times (today|since \S+)/);
    await session.screenshot('door-recurring-visitor');

    await session.open('visitors');
    const visitor = page.locator('.pl-visitor[data-visitor="visitor #1"]');
    await visitor.waitFor({ timeout: 30_000 });
    assert.match((await visitor.locator('.pl-meta').textContent()) ?? '', /seen 2 times/);
    assert.ok((await visitor.locator('img.pl-face').count()) >= 1, 'the visitor shows its faces');
    await waitFor('the face crops to load', async () => (await visitor.locator('img.pl-face').first().evaluate((img: HTMLImageElement) => img.naturalWidth > 0)) || undefined, 10_000);

    await visitor.getByRole('button', { name: 'Find this face' }).click();
    await waitFor('the search', async () => ((await page.locator('.pl-hit').count()) > 0 ? true : undefined), 30_000);
    assert.match((await page.locator('.pl-hit').first().textContent()) ?? '', /distance \d\.\d\d.*visitor #1/s);
    await session.screenshot('visitors');

    // From the timeline: an unknown event's "Find this face" opens the Visitors page searching for it.
    await session.open('events');
    await page.locator('.pl-event[data-verdict="unknown"]').first().getByRole('link', { name: 'Find this face' }).click();
    await page.waitForURL(/\/dashboard\/visitors\?event=/);
    await waitFor('the search from the event', async () => ((await page.locator('.pl-hit').count()) > 0 ? true : undefined), 30_000);
    assert.match((await page.locator('.pl-hit').first().textContent()) ?? '', /visitor #1/);
  });

  it('names the visitor from its event on a phone (the name stays text): it leaves the visitor list, and the next visit is known by that name', async () => {
    const visitor = page.locator('.pl-visitor[data-visitor="visitor #1"]');
    const name = '<i>Sam</i> the courier';
    // The Visitors page on a phone: the name field wide enough to type in, the buttons whole.
    await session.resize(PHONE);
    await session.open('visitors');
    await visitor.waitFor({ timeout: 30_000 });
    await session.assertUsable(visitor.locator('.pl-visitor-input').first(), 'the visitor\'s Name field at 390 px', 160);
    for (const button of ['Name', 'Merge', 'Dismiss', 'Find this face']) await session.assertUsable(visitor.getByRole('button', { name: button, exact: true }), `${button} at 390 px`);
    await session.assertUsable(page.locator('.pl-find-event'), 'the Event id field at 390 px', 160);
    await session.assertNoSideScroll('the Visitors page at 390 px');
    await session.screenshot('visitors-phone');

    // "Who is this?" on the visitor's last event, as the family would from the timeline.
    await session.open('events');
    const unknown = page.locator('.pl-event[data-verdict="unknown"]').first();
    await unknown.waitFor();
    await unknown.getByLabel('Who is this?').fill(name);
    await unknown.getByRole('button', { name: 'Enrol' }).click();
    await waitFor('the answer', async () => ((await unknown.locator('.pl-feedback').textContent()) ?? '').match(/Enrolled|Not done|Could not/)?.[0], 60_000);
    assert.equal(((await unknown.locator('.pl-feedback').textContent()) ?? '').trim(), `Enrolled ${name} (visitor #1)`);
    assert.equal(await page.locator('.pl-timeline i', { hasText: 'Sam' }).count(), 0, 'no markup from the name');

    await session.open('visitors');
    await page.getByRole('heading', { name: /Recurring visitors/ }).waitFor();
    await waitFor('visitor #1 to leave the list', async () => ((await visitor.count()) === 0 ? true : undefined), 30_000);
    await session.resize(DESKTOP);

    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('a stranger');
    assert.match(await session.ring(), /Sam/);
    await session.screenshot('visitors-named');
  });
});
