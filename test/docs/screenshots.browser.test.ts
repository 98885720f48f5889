import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { lfwDir, repoRoot } from '../support/paths';
import { DESKTOP, PHONE, openDashboard, ringForAGroup, waitFor, type DashboardSession } from '../support/dashboard-browser';

/**
 * The README's screenshots, as a household would see the dashboard: the demo's
 * Alice and Mallory, a stranger named Sam at the door, a group photo and a
 * group at the door where one face is tapped, a calibration from two people's
 * photos. Each page is checked for what a screenshot must not show (test
 * names, markup, a page that scrolls sideways). With PORCHLIGHT_README_SCREENSHOTS=1
 * the pictures are written to docs/screenshots/ (else to test-artifacts/).
 */
const OUT = process.env.PORCHLIGHT_README_SCREENSHOTS === '1' ? path.join(repoRoot, 'docs', 'screenshots') : path.join(repoRoot, 'test-artifacts', 'readme');

/** Two people with eight LFW photos each, under household names: enough history to calibrate from. */
const FAMILY: Array<[string, string]> = [
  ['Ben', 'Michael_Jackson'],
  ['Clara', 'Jennifer_Aniston'],
];

describe('the README\'s screenshots of the dashboard, at 1280 and 390 px (Debian chromium + playwright-core)', function () {
  this.timeout(900_000);
  let session: DashboardSession;
  let page: DashboardSession['page'];

  before(async () => {
    session = await openDashboard();
    page = session.page;
    fs.mkdirSync(OUT, { recursive: true });
  });

  after(async () => {
    await session?.close();
  });

  /** What a household must not see in a screenshot: markup, test-like names, raw errors. */
  const assertHouseholdPage = async (what: string) => {
    const text = await page.locator('.v-main').innerText();
    assert.doesNotMatch(text, /<\/?[a-z]+>|_[A-Z]|Error:|undefined|NaN|\[object/, `${what} shows no markup, test names or raw errors`);
    await session.assertNoSideScroll(what);
  };

  const shoot = async (name: string, size: { width: number; height: number }, what: string) => {
    await assertHouseholdPage(`${what} at ${size.width} px`);
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
  };

  const atBoth = async (name: string, what: string, show: () => Promise<void>) => {
    for (const [size, suffix] of [[DESKTOP, ''], [PHONE, '-phone']] as const) {
      await session.resize(size);
      await show();
      await shoot(`${name}${suffix}`, size, what);
    }
    await session.resize(DESKTOP);
  };

  it('the door: the live camera and Alice, the last visitor', async () => {
    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('a stranger');
    await session.ring();
    await session.chooseVisitor('Alice (known)');
    assert.equal(await session.ring(), 'Alice');
    await atBoth('dashboard-live', 'the Door page', async () => {
      await session.open('door');
      await waitFor('a live frame', async () => ((await page.locator('img.pl-stream').evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0 ? true : undefined), 20_000);
      await session.lastVisitor().waitFor();
    });
  });

  it('the events: a stranger named from their visit, and a group at the door where one face is tapped', async () => {
    await session.open('events');
    const stranger = page.locator('.pl-event[data-verdict="unknown"]').first();
    await stranger.getByLabel('Who is this?').fill('Sam');
    await stranger.getByRole('button', { name: 'Enrol' }).click();
    await waitFor('Sam enrolled', async () => ((await stranger.locator('.pl-feedback').textContent()) ?? '').match(/^(Enrolled|Not done|Could not).*/)?.[0], 60_000);
    assert.equal(((await stranger.locator('.pl-feedback').textContent()) ?? '').trim(), 'Enrolled Sam');

    // A group before the camera, in the stranger's place.
    await ringForAGroup(session);
    await session.chooseVisitor('nobody');
    await atBoth('dashboard-events', 'the Events page', async () => {
      await session.open('events');
      await page.locator('.pl-event').nth(2).waitFor();
    });

    await session.resize(PHONE);
    await session.open('events');
    const group = page.locator('.pl-event').first();
    await group.getByLabel('Who is this?').fill('Jo');
    await group.getByRole('button', { name: 'Enrol' }).click();
    const faces = group.getByTestId('event-chooser').locator('button.pl-chooser-face');
    await waitFor('a box over each face', async () => ((await faces.count()) > 1 ? true : undefined), 30_000);
    await group.getByTestId('event-chooser').scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, 120));
    await shoot('dashboard-events-group-phone', PHONE, 'the Events page with a group to tap');
    await faces.nth(1).click();
    await waitFor('Jo enrolled', async () => ((await group.locator('.pl-feedback').textContent()) ?? '').match(/^(Enrolled|Not done|Could not).*/)?.[0], 60_000);
    assert.equal(((await group.locator('.pl-feedback').textContent()) ?? '').trim(), 'Enrolled Jo');
    await session.resize(DESKTOP);
  });

  it('the people: a group photo with a box over each face, one tapped', async () => {
    for (const [size, suffix] of [[DESKTOP, ''], [PHONE, '-phone']] as const) {
      await session.resize(size);
      await session.open('people');
      await page.locator('.pl-person').first().waitFor();
      await page.locator('.pl-enrol').getByRole('textbox', { name: 'Name' }).fill('Maya');
      await page.locator('input.pl-enrol-file').setInputFiles(path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg'));
      const faces = page.getByTestId('photo-chooser').locator('button.pl-chooser-face');
      await waitFor('a box over each face', async () => ((await faces.count()) > 1 ? true : undefined), 60_000);
      if (size === PHONE) await page.getByTestId('photo-chooser').scrollIntoViewIfNeeded();
      await shoot(`dashboard-people-group${suffix}`, size, 'the People page with a group photo');
    }
    await page.getByTestId('photo-chooser').locator('button.pl-chooser-face').nth(1).click();
    const maya = page.locator('.pl-person-name', { hasText: 'Maya' });
    await waitFor('Maya enrolled', async () => ((await maya.count()) === 1 ? true : undefined), 60_000);
    await session.resize(DESKTOP);
  });

  it('the calibration: first what it needs, then both curves and the question before applying', async () => {
    await atBoth('dashboard-calibration-needs', 'the Calibration page without enough history', async () => {
      await session.open('calibration');
      await page.getByTestId('calibration-needs').waitFor({ timeout: 60_000 });
    });
    for (const [name, person] of FAMILY) {
      const files = fs.readdirSync(path.join(lfwDir, person)).sort().slice(0, 8);
      const images = files.map((file) => fs.readFileSync(path.join(lfwDir, person, file)).toString('base64'));
      const response = await fetch(`${session.demo.baseUrl}porchlight/faces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, images }) });
      assert.ok(response.ok, `enrolling ${name}: ${response.status} ${await response.text()}`);
    }
    await atBoth('dashboard-calibration', 'the Calibration page asking before applying', async () => {
      await session.open('calibration');
      await waitFor('the suggestion', async () => ((await page.getByTestId('calibration-global').count()) === 1 ? true : undefined), 60_000).catch(async (err: Error) => {
        throw new Error(`${err.message}: ${await page.locator('.pl-calibration').innerText()}`);
      });
      await page.getByRole('button', { name: 'Apply...' }).click();
      await page.getByTestId('calibration-confirm').waitFor();
    });
  });
});
