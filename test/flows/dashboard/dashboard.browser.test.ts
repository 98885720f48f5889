import assert from 'node:assert/strict';
import path from 'node:path';
import { DEMO_FACE_COUNTS } from '../../support/images';
import { faceApiDemoDir, lfwImage } from '../../support/paths';
import { DESKTOP, PHONE, openDashboard, ringForAGroup, waitFor, type DashboardSession } from '../../support/dashboard-browser';

/** A new name with markup in it: it must show as these very characters, and never run. */
const NEW_NAME = 'Zoë <b>bold</b> <script>window.__porchlightInjected = true</script>';

describe('the dashboard in a real browser (Debian chromium + playwright-core)', function () {
  this.timeout(300_000);
  let session: DashboardSession;
  let page: DashboardSession['page'];

  before(async function () {
    session = await openDashboard();
    page = session.page;
  });

  after(async () => {
    await session?.close();
  });

  const screenshot = (name: string) => session.screenshot(name);
  const lastVisitor = () => session.lastVisitor();
  const chooseVisitor = (label: string) => session.chooseVisitor(label);
  const ring = () => session.ring();

  it('shows the live camera, and a press from the dashboard brings the known visitor\'s name', async () => {
    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await chooseVisitor('Alice (known)');
    assert.equal(await ring(), 'Alice');
    const stream = page.locator('img.pl-stream');
    await waitFor('a live frame', async () => ((await stream.evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0 ? true : undefined), 10_000);
    await screenshot('door-known');
  });

  it('says on the page that, without adminAuth, anyone on the network can use it, and how to lock it', async () => {
    const notice = page.locator('[data-testid="pl-access"][data-mode="open"]');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /This dashboard is open to everyone\.\s+Anyone who can reach this Node-RED on your network[\s\S]*set\s+adminAuth\s+in Node-RED's settings\.js/);
    assert.ok(await notice.isVisible());
  });

  it('enrols an unknown visitor from their event ("Who is this?"), and the next press names them, as text', async () => {
    await chooseVisitor('a stranger');
    assert.equal(await ring(), 'unknown');

    await session.open('events');
    const unknown = page.locator('.pl-event[data-verdict="unknown"]').first();
    await unknown.waitFor();
    // Usable at a desktop's width and at a phone's, where the family mostly opens it: the name field
    // wide enough to type in, the buttons whole (not cut off at the window's edge).
    const whoIs = unknown.getByLabel('Who is this?');
    const usable = async (width: string) => {
      await session.assertUsable(unknown.locator('.pl-whois-name'), `"Who is this?" at ${width}`, 160);
      await session.assertUsable(unknown.getByRole('button', { name: 'Enrol' }), `Enrol at ${width}`);
      await session.assertUsable(unknown.getByRole('link', { name: 'Find this face' }), `Find this face at ${width}`);
      await session.assertNoSideScroll(`the Events page at ${width}`);
    };
    await usable('1280 px');
    await session.resize(PHONE);
    await usable('390 px');
    await whoIs.fill(NEW_NAME);
    await screenshot('events-who-is-this-phone');
    await unknown.getByRole('button', { name: 'Enrol' }).click();
    await waitFor('the enrolment to be confirmed', async () => ((await unknown.locator('.pl-feedback').textContent()) ?? '').match(/^(Enrolled|Not done|Could not).*/)?.[0], 60_000);
    assert.match((await unknown.locator('.pl-feedback').textContent()) ?? '', /^Enrolled /);
    await session.resize(DESKTOP);

    await session.open('door');
    await page.getByRole('button', { name: 'Ring the doorbell' }).waitFor();
    await chooseVisitor('a stranger');
    assert.equal(await ring(), NEW_NAME);
    assert.equal(await page.evaluate(() => (window as unknown as { __porchlightInjected?: boolean }).__porchlightInjected), undefined, 'the script in the name never ran');
    assert.equal(await lastVisitor().locator('script, b').count(), 0, 'the name is text, not markup');
    await screenshot('door-new-name');

    await session.open('events');
    await page.locator('.pl-event').first().waitFor();
    const names = await page.locator('.pl-names').allTextContents();
    assert.ok(names.includes(NEW_NAME), `the timeline shows the new name as text (got ${JSON.stringify(names.slice(0, 5))})`);
    await screenshot('events');

    // Filters: by verdict, then by person.
    await page.getByLabel('Verdict').click({ force: true });
    await page.getByRole('option', { name: 'Known', exact: true }).click();
    await waitFor('only known events', async () => {
      const verdicts = await page.locator('.pl-event').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-verdict')));
      return verdicts.length > 0 && verdicts.every((v) => v === 'known') ? verdicts : undefined;
    }, 10_000);
    await page.getByRole('textbox', { name: 'Person' }).fill('alice');
    await waitFor('only Alice', async () => {
      const shown = await page.locator('.pl-names').allTextContents();
      return shown.length > 0 && shown.every((n) => n === 'Alice') ? shown : undefined;
    }, 10_000);
  });

  it('lists the people with their faces, the new one among the known', async () => {
    await session.open('people');
    const person = page.locator('.pl-person').filter({ has: page.locator('.pl-person-name', { hasText: 'Zoë' }) });
    await person.waitFor();
    assert.equal(((await person.locator('.pl-person-name').textContent()) ?? '').trim(), NEW_NAME);
    assert.ok((await person.locator('img.pl-face').count()) >= 1);
    const blacklist = page.locator('.pl-list[data-list="blacklist"]');
    assert.equal(((await blacklist.locator('.pl-person-name').first().textContent()) ?? '').trim(), 'Mallory');
    await waitFor('face crops to load', async () => ((await person.locator('img.pl-face').first().evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0 ? true : undefined), 10_000);

    // Enrol by upload: a photo from LFW.
    await page.locator('.pl-enrol').getByRole('textbox', { name: 'Name' }).fill('Uploaded Person');
    await page.locator('input.pl-enrol-file').setInputFiles(lfwImage('Aaron_Eckhart', 1));
    await page.getByRole('button', { name: 'Enrol photo' }).click();
    const uploaded = page.locator('.pl-list[data-list="known"] .pl-person-name', { hasText: 'Uploaded Person' });
    await waitFor('the uploaded person', async () => ((await uploaded.count()) === 1 ? true : undefined), 60_000);
    assert.match(((await page.locator('.pl-people > .pl-feedback').textContent()) ?? '').trim(), /^Enrolled Uploaded Person/);
    await screenshot('people');

    // On a phone: the upload form and each person's rename field and buttons are whole and wide enough.
    await session.resize(PHONE);
    await session.assertUsable(page.locator('.pl-enrol-name'), 'the upload\'s Name field at 390 px', 160);
    await session.assertUsable(page.getByRole('button', { name: 'Enrol photo' }), 'Enrol photo at 390 px');
    const alice = page.locator('.pl-person[data-person="Alice"]');
    await session.assertUsable(alice.locator('.pl-rename'), 'New name at 390 px', 160);
    for (const button of ['Rename', 'Move to blacklist', 'Forget']) await session.assertUsable(alice.getByRole('button', { name: button }), `${button} at 390 px`);
    await session.assertNoSideScroll('the People page at 390 px');
    await screenshot('people-phone');
    await session.resize(DESKTOP);
  });

  it('enrols one face of a group photo by tapping it, at a phone\'s width', async () => {
    await session.resize(PHONE);
    try {
      await session.open('people');
      await page.locator('.pl-enrol').getByRole('textbox', { name: 'Name' }).fill('Tapped Person');
      await page.locator('input.pl-enrol-file').setInputFiles(path.join(faceApiDemoDir, 'sample1.jpg'));
      const chooser = page.getByTestId('photo-chooser');
      const faces = chooser.locator('button.pl-chooser-face');
      await waitFor('a box over each face of the photo', async () => ((await faces.count()) > 0 ? true : undefined), 60_000);
      // face-api counts three faces in this photo; the engine's detector may see one more at its edge: a box over each it sees.
      const count = await faces.count();
      assert.ok(count >= DEMO_FACE_COUNTS[0], `a box over each face (${count})`);
      assert.equal(((await chooser.locator('.pl-chooser-words').textContent()) ?? '').trim(), `${count} faces in this photo: tap the one to enrol.`);
      assert.ok(await page.getByRole('button', { name: 'Enrol photo' }).isDisabled(), 'no face tapped yet: nothing to enrol');
      const photo = chooser.locator('img.pl-chooser-photo');
      await session.assertUsable(photo, 'the group photo at 390 px', 300);
      for (let i = 0; i < count; i++) await session.assertUsable(faces.nth(i), `the box over face ${i + 1} at 390 px`, 24);
      await session.assertNoSideScroll('the People page with a group photo at 390 px');
      await session.screenshot('people-group-photo-phone');

      // Tap the second face from the left: that one, and only that one, is enrolled.
      const tapped = faces.nth(1);
      assert.equal(await tapped.isDisabled(), false, 'the second face can be enrolled');
      const [box, frame] = [(await tapped.boundingBox())!, (await photo.boundingBox())!];
      await tapped.click();
      const person = page.locator('.pl-list[data-list="known"] .pl-person-name', { hasText: 'Tapped Person' });
      await waitFor('the tapped face enrolled', async () => ((await person.count()) === 1 ? true : undefined), 60_000);
      assert.match(((await page.locator('.pl-people > .pl-feedback').textContent()) ?? '').trim(), /^Enrolled Tapped Person$/);
      const { faces: stored } = (await (await fetch(`${session.demo.baseUrl}porchlight/faces/by-name/Tapped%20Person`)).json()) as {
        faces: Array<{ metadata: { box: { x: number; y: number; width: number; height: number }; image: { width: number; height: number } } }>;
      };
      assert.equal(stored.length, 1, `one face of the ${count}`);
      const { box: enrolled, image } = stored[0].metadata;
      const centre = (enrolled.x + enrolled.width / 2) / image.width;
      const tappedCentre = (box.x + box.width / 2 - frame.x) / frame.width;
      assert.ok(Math.abs(centre - tappedCentre) < 0.03, `the enrolled face is the tapped one (centre at ${centre.toFixed(3)} of the width, tapped ${tappedCentre.toFixed(3)})`);
      assert.equal(await chooser.count(), 0, 'the photo is put away once enrolled');
    } finally {
      await session.resize(DESKTOP);
    }
  });

  it('tells a photo without a face, and one whose only face is enrolled at once without a tap', async () => {
    await session.open('people');
    const chooser = page.getByTestId('photo-chooser');
    const words = chooser.locator('.pl-chooser-words');
    // A photo of a doorstep with nobody on it: the demo camera's empty scene.
    await page.locator('input.pl-enrol-file').setInputFiles(path.join(session.demo.userDir, 'porchlight-demo', 'scenes', 'nobody.jpg'));
    await waitFor('the answer for an empty photo', async () => ((await words.textContent()) ?? '').match(/^No face.*/)?.[0], 60_000);
    assert.equal(((await words.textContent()) ?? '').trim(), 'No face found in this photo: try another one.');
    assert.ok(await page.getByRole('button', { name: 'Enrol photo' }).isDisabled());
    await page.locator('.pl-enrol').getByRole('textbox', { name: 'Name' }).fill('Single Face');
    await page.locator('input.pl-enrol-file').setInputFiles(lfwImage('Aaron_Peirsol', 1));
    await waitFor('one face found', async () => ((await words.textContent()) ?? '').match(/^One face.*/)?.[0], 60_000);
    assert.equal(await chooser.locator('button.pl-chooser-face').count(), 1);
    await page.getByRole('button', { name: 'Enrol photo' }).click();
    const person = page.locator('.pl-list[data-list="known"] .pl-person-name', { hasText: 'Single Face' });
    await waitFor('the single face enrolled', async () => ((await person.count()) === 1 ? true : undefined), 60_000);
  });

  it('renames a person, moves them to the blacklist and forgets them, through the face-db node', async () => {
    const person = (name: string) => page.locator('.pl-person').filter({ has: page.locator('.pl-person-name', { hasText: name }) });
    const feedback = page.locator('.pl-people > .pl-feedback');
    const zoe = person('Zoë');
    await zoe.getByLabel('New name').fill('Zoe Renamed');
    await zoe.getByRole('button', { name: 'Rename' }).click();
    await waitFor('the renamed person', async () => ((await person('Zoe Renamed').count()) === 1 ? true : undefined), 30_000);
    assert.equal(((await feedback.textContent()) ?? '').trim(), 'Renamed');

    await person('Zoe Renamed').getByRole('button', { name: 'Move to blacklist' }).click();
    const blacklisted = page.locator('.pl-list[data-list="blacklist"] .pl-person-name', { hasText: 'Zoe Renamed' });
    await waitFor('the person on the blacklist', async () => ((await blacklisted.count()) === 1 ? true : undefined), 30_000);

    page.once('dialog', (dialog) => void dialog.accept());
    await person('Zoe Renamed').getByRole('button', { name: 'Forget' }).click();
    await waitFor('the person forgotten', async () => ((await person('Zoe Renamed').count()) === 0 ? true : undefined), 30_000);
    assert.equal(((await feedback.textContent()) ?? '').trim(), 'Forgotten');
    const { people } = await (await fetch(`${session.demo.baseUrl}porchlight/faces`)).json();
    assert.deepEqual(people.map((p: { name: string }) => p.name).sort(), ['Alice', 'Mallory', 'Single Face', 'Tapped Person', 'Uploaded Person']);
    await screenshot('people-after-forget');
  });

  it('every page fits a desktop and a phone: nothing scrolls sideways, its main parts are wide enough to use', async () => {
    // Per page, what must be usable and how wide at least (px), at both widths.
    const parts: Record<string, Array<[string, () => ReturnType<typeof page.locator>, number]>> = {
      door: [
        ['Ring the doorbell', () => page.getByRole('button', { name: 'Ring the doorbell' }), 200],
        ['the live view', () => page.locator('img.pl-stream'), 300],
      ],
      events: [
        ['the Verdict filter', () => page.locator('.pl-filter').first(), 140],
        ['the first event\'s picture', () => page.locator('.pl-event .pl-thumb').first(), 150],
      ],
      people: [
        ['the upload\'s Name field', () => page.locator('.pl-enrol-name'), 160],
        ['Enrol photo', () => page.getByRole('button', { name: 'Enrol photo' }), 44],
      ],
      visitors: [['the Event id field', () => page.locator('.pl-find-event'), 160]],
      charts: [
        ['the visitors-per-day chart', () => page.locator('canvas').first(), 300],
        ['the time-to-verdict chart', () => page.locator('canvas').nth(1), 300],
      ],
      calibration: [
        ['the target', () => page.locator('.pl-cal-target'), 160],
        ['the chart', () => page.locator('svg.pl-cal-curve'), 300],
      ],
    };
    try {
      for (const size of [DESKTOP, PHONE]) {
        await session.resize(size);
        for (const [dashboardPath, checks] of Object.entries(parts)) {
          await session.open(dashboardPath);
          await page.locator('.v-main').waitFor();
          await page.waitForTimeout(1_000);
          for (const [what, locate, width] of checks) await session.assertUsable(locate(), `${what} on the ${dashboardPath} page at ${size.width} px`, width);
          await session.assertNoSideScroll(`the ${dashboardPath} page at ${size.width} px`);
          await screenshot(`${dashboardPath}${size === PHONE ? '-phone' : '-desktop'}`);
        }
      }
    } finally {
      await session.resize(DESKTOP);
    }
  });

  it('says "No camera picture" in the live view when the camera sends nothing, not a black box', async () => {
    // The camera is the hardware side: a stream that never brings a frame stands for one unplugged.
    await page.route('**/stream.mjpeg*', () => undefined);
    try {
      await session.open('door');
      const noCamera = page.getByTestId('no-camera');
      await noCamera.waitFor({ timeout: 20_000 });
      assert.match((await noCamera.textContent()) ?? '', /No camera picture\.\s+The doorbell camera is not sending anything/);
      assert.equal(await page.locator('img.pl-stream').isVisible(), false, 'no black box');
      await screenshot('door-no-camera');
    } finally {
      await page.unroute('**/stream.mjpeg*');
    }
  });

  it('draws the charts of visitors per day and time to verdict', async () => {
    await session.open('charts');
    await page.locator('canvas').first().waitFor();
    await page.waitForTimeout(1_000);
    await screenshot('charts');
    assert.ok((await page.locator('canvas').count()) >= 2);
    assert.equal(await page.getByTestId('chart-no-data').count(), 0, 'no "no data yet" once there are visits');
  });

  it('enrols one of a group at the door by tapping their face in the picture of the visit, at a phone\'s width', async () => {
    await ringForAGroup(session);
    try {
      await session.resize(PHONE);
      await session.open('events');
      const event = page.locator('.pl-event').first();
      await event.waitFor();
      assert.equal(await event.getAttribute('data-verdict'), 'unknown', 'a group of strangers');
      await event.getByLabel('Who is this?').fill('Picked At The Door');
      await event.getByRole('button', { name: 'Enrol' }).click();
      const chooser = event.getByTestId('event-chooser');
      const faces = chooser.locator('button.pl-chooser-face');
      await waitFor('a box over each stranger', async () => ((await faces.count()) > 1 ? await faces.count() : undefined), 30_000);
      const count = await faces.count();
      assert.equal(((await chooser.locator('.pl-chooser-words').textContent()) ?? '').trim(), `${count} faces in this picture: tap the one who is Picked At The Door.`);
      for (let i = 0; i < count; i++) await session.assertUsable(faces.nth(i), `the box over face ${i + 1} at 390 px`, 24);
      await session.assertNoSideScroll('the Events page with a group at 390 px');
      await session.screenshot('events-group-phone');
      await faces.first().click();
      await waitFor('the answer', async () => ((await event.locator('.pl-feedback').textContent()) ?? '').match(/^(Enrolled|Not done|Could not).*/)?.[0], 60_000);
      assert.equal(((await event.locator('.pl-feedback').textContent()) ?? '').trim(), 'Enrolled Picked At The Door');
      const { faces: stored } = (await (await fetch(`${session.demo.baseUrl}porchlight/faces/by-name/Picked%20At%20The%20Door`)).json()) as { faces: unknown[] };
      assert.equal(stored.length, 1, `one face of the ${count}`);
    } finally {
      await session.resize(DESKTOP);
    }
  });
});
