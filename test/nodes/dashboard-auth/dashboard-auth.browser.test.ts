import assert from 'node:assert/strict';
import { openDashboard, waitFor, type DashboardSession } from '../../support/dashboard-browser';
import { PASSWORD, adminAuthSettingsJs, login } from '../../support/dashboard-auth';

interface Person {
  id: number;
  name: string;
  list: string;
}

/** The dashboard in Chromium with adminAuth on (the demo with a settings.js): signing in, and what each user may do. */
describe('the dashboard under adminAuth in a real browser (Debian chromium + playwright-core)', function () {
  this.timeout(300_000);
  let session: DashboardSession;
  let page: DashboardSession['page'];
  let admin: string;

  before(async function () {
    session = await openDashboard({ settingsJs: adminAuthSettingsJs() });
    page = session.page;
    admin = (await login(session.demo.baseUrl, 'admin')).token;
    session.apiHeaders = { Authorization: `Bearer ${admin}` };
  });

  after(async () => {
    await session?.close();
  });

  const people = async (): Promise<Person[]> =>
    ((await (await fetch(`${session.demo.baseUrl}porchlight/faces`, { headers: session.apiHeaders })).json()) as { people: Person[] }).people;
  const banner = () => page.locator('[data-testid="pl-access"]');
  const personCard = (name: string) => page.locator('.pl-person').filter({ has: page.locator('.pl-person-name', { hasText: name }) });

  async function signIn(username: string): Promise<void> {
    await page.getByLabel('Node-RED user name').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('sends a browser that is not signed in to the sign-in page, and back to the page it asked for', async () => {
    await session.open('people');
    await page.waitForURL(/\/porchlight\/dashboard\/login\?return=%2Fdashboard%2Fpeople$/);
    await page.getByLabel('Node-RED user name').waitFor();
    await session.screenshot('auth-sign-in');
    await page.getByLabel('Node-RED user name').fill('admin');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Not signed in: wrong user name or password').waitFor();

    await signIn('admin');
    await page.waitForURL(/\/dashboard\/people$/);
    await banner().getByText('Signed in as').waitFor({ timeout: 30_000 });
    assert.match((await banner().textContent()) ?? '', /Signed in as admin · may change the face DB/);
    // The faces come through the admin API with the sign-in cookie (img tags carry no Authorization header).
    const face = personCard('Alice').locator('img.pl-face').first();
    await waitFor('Alice\'s face to load', async () => ((await face.evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0 ? true : undefined), 20_000);
    await session.screenshot('auth-people-admin');
  });

  it('a user with write permission changes the face DB from the page', async () => {
    const mallory = (await people()).find((p) => p.name === 'Mallory')!;
    await personCard('Mallory').getByRole('button', { name: 'Move to known' }).click();
    await waitFor('Mallory on the known list', async () => ((await people()).find((p) => p.id === mallory.id)?.list === 'known' ? true : undefined), 30_000);
    await personCard('Mallory').getByRole('button', { name: 'Move to blacklist' }).click();
    await waitFor('Mallory back on the blacklist', async () => ((await people()).find((p) => p.id === mallory.id)?.list === 'blacklist' ? true : undefined), 30_000);
  });

  it('the door page works signed in: the live view, a ring and the verdict with its snapshot', async () => {
    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await session.chooseVisitor('Mallory (blacklisted)');
    assert.equal(await session.ring(), 'Blacklisted: Mallory');
    const stream = page.locator('img.pl-stream');
    await waitFor('a live frame', async () => ((await stream.evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0 ? true : undefined), 10_000);
    const snapshot = page.locator('img.pl-snapshot');
    await waitFor('the snapshot', async () => ((await snapshot.evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0 ? true : undefined), 10_000);
    await session.screenshot('auth-door-admin');
  });

  it('a read-only user sees the pages, and what they click changes nothing', async () => {
    await banner().getByText('Sign out').click();
    await page.waitForURL(/\/porchlight\/dashboard\/login/);
    await page.getByLabel('Node-RED user name').waitFor();
    await signIn('viewer');
    await page.waitForURL(/\/dashboard\/door$/);
    await banner().getByText('Signed in as').waitFor({ timeout: 30_000 });
    assert.match((await banner().textContent()) ?? '', /Signed in as viewer · read only/);

    await session.open('people');
    const before = await people();
    await personCard('Mallory').getByRole('button', { name: 'Move to known' }).click();
    await page.getByText('Not done: viewer may only look (changes need porchlight.write)').waitFor();
    assert.deepEqual(await people(), before);
    await session.screenshot('auth-people-viewer');
  });

  it("signs in with the editor's login: sign in to the editor, then open the dashboard", async () => {
    await banner().getByText('Sign out').click();
    await page.waitForURL(/\/porchlight\/dashboard\/login/);
    await page.goto(session.demo.baseUrl);
    await page.locator('#node-dialog-login-username').fill('admin');
    await page.locator('#node-dialog-login-password').fill(PASSWORD);
    await page.locator('#node-dialog-login-submit').click();
    await page.locator('#red-ui-header').waitFor();
    await waitFor('the editor to keep its token', async () => ((await page.evaluate(() => localStorage.getItem('auth-tokens'))) ? true : undefined), 30_000);

    await session.open('people');
    await page.waitForURL(/\/dashboard\/people$/, { timeout: 30_000 });
    await banner().getByText('Signed in as').waitFor({ timeout: 30_000 });
    assert.match((await banner().textContent()) ?? '', /Signed in as admin/);
  });
});
