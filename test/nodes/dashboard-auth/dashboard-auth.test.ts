import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startDemo, type DemoServer } from '../../../scripts/demo-server';
import { lfwImage } from '../../support/paths';
import { waitUntil } from '../../support/wait';
import {
  PASSWORD,
  adminAuthSettingsJs,
  bareSocket,
  basicHeader,
  faceDbState,
  httpNodeAuthSettingsJs,
  login,
  sessionCookie,
  type BareSocket,
} from '../../support/dashboard-auth';

const PEOPLE = 'pl_ui_people';
const CALIBRATION = 'pl_ui_calibration';
const TIMELINE = 'pl_ui_timeline';
const RING = 'pl_ui_ring';

interface Person {
  id: number;
  name: string;
  list: string;
}

/** Every change the reported attack made, as the dashboard's pages send them (`widget-send` to a template, `widget-action` on the ring button). */
function hostileMessages(alice: Person, mallory: Person): Array<[string, string, unknown]> {
  const photo = `data:image/jpeg;base64,${fs.readFileSync(lfwImage('Aaron_Eckhart', 1)).toString('base64')}`;
  // A forged `_client`: the browser claims to be the admin; the server must not believe it.
  const forged = { socketId: 'not-mine', user: { username: 'admin' } };
  return [
    ['widget-send', PEOPLE, { topic: 'face-db', action: 'move', personId: mallory.id, list: 'known', dashboard: { from: 'people' }, _client: forged }],
    ['widget-send', PEOPLE, { topic: 'face-db', action: 'enroll', name: 'Intruder', list: 'known', payload: photo, dashboard: { from: 'people' } }],
    ['widget-send', TIMELINE, { topic: 'face-db', action: 'label', eventId: '01JZ0000000000000000000000', eventFaceId: 1, verdict: 'reject', name: mallory.name, dashboard: { from: 'timeline' } }],
    ['widget-send', PEOPLE, { topic: 'face-db', action: 'rename', personId: alice.id, newName: 'Mallory II', dashboard: { from: 'people' } }],
    ['widget-send', PEOPLE, { topic: 'face-db', action: 'forget', personId: alice.id, dashboard: { from: 'people' } }],
    ['widget-send', CALIBRATION, { topic: 'face-db', action: 'applyCalibration', far: 0.01, dashboard: { from: 'calibration' } }],
    ['widget-action', RING, { payload: 'press' }],
  ];
}

/** Resolves once everything the client emitted has left it (the polling transport's buffer is empty). */
async function flushed(client: BareSocket): Promise<void> {
  await waitUntil(() => (client.socket as unknown as { sendBuffer: unknown[] }).sendBuffer.length === 0, { timeout: 10_000, message: 'the socket to send its messages' });
  // Nothing to observe for a dropped message: give the server the time a face-db round trip takes here.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
}

/** The people page's answer carrying `marker` in msg.dashboard (face-db's result, or its error through the Catch node). */
function answer(client: BareSocket, marker: string, timeoutMs = 60_000): Promise<{ ok: boolean; message: string }> {
  return waitUntil(
    async () => {
      for (const { event, args } of client.received) {
        const msg = args[0] as { topic?: string; dashboard?: { marker?: string; ok: boolean; message: string } } | undefined;
        if (event === `msg-input:${PEOPLE}` && msg?.topic === 'face-db-result' && msg.dashboard?.marker === marker) return msg.dashboard;
      }
      return undefined;
    },
    { timeout: timeoutMs, interval: 50, message: `the face DB's answer to ${marker}` },
  );
}

async function eventCount(demo: DemoServer, token: string): Promise<number> {
  const page = (await (await fetch(`${demo.baseUrl}porchlight/events?limit=1`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { total: number };
  return page.total;
}

describe('who may use the dashboard (the demo with a settings.js)', function () {
  this.timeout(300_000);

  describe('adminAuth', () => {
    let demo: DemoServer;
    let admin: string;
    let alice: Person;
    let mallory: Person;
    const sockets: BareSocket[] = [];
    const open = (headers: Record<string, string> = {}) => {
      const client = bareSocket(demo.baseUrl, headers);
      sockets.push(client);
      return client;
    };

    before(async () => {
      demo = await startDemo(undefined, { settingsJs: adminAuthSettingsJs() });
      admin = (await login(demo.baseUrl, 'admin')).token;
      const { people } = (await (await fetch(`${demo.baseUrl}porchlight/faces`, { headers: { Authorization: `Bearer ${admin}` } })).json()) as { people: Person[] };
      alice = people.find((p) => p.name === 'Alice')!;
      mallory = people.find((p) => p.name === 'Mallory')!;
    });

    after(async () => {
      for (const client of sockets) client.close();
      await demo?.stop();
    });

    it("npm start merged the user dir's settings.js: the admin API needs a login, and the demo still enrolled its cast", async () => {
      assert.match(demo.log(), /settings\.js merged over the demo's/);
      assert.equal((await fetch(`${demo.baseUrl}porchlight/faces`)).status, 401);
      assert.equal(alice?.list, 'known');
      assert.equal(mallory?.list, 'blacklist');
    });

    it('refuses a bare socket.io client (no credentials, no Origin): 403 on the handshake, and its writes change nothing', async () => {
      const before = await faceDbState(demo.baseUrl, admin);
      const events = await eventCount(demo, admin);

      const client = open();
      for (const [event, widget, msg] of hostileMessages(alice, mallory)) client.socket.emit(event, widget, msg);
      const outcome = await client.outcome;
      await new Promise((resolve) => setTimeout(resolve, outcome === 'connected' ? 8_000 : 1_500));
      assert.deepEqual(await faceDbState(demo.baseUrl, admin), before);
      assert.equal(await eventCount(demo, admin), events, 'no press either');
      assert.deepEqual(client.received, [], 'nothing was pushed to it: no configuration, no events');
      assert.match(outcome, /^refused/);

      const handshake = await fetch(`${demo.baseUrl}dashboard/socket.io/?EIO=4&transport=polling`);
      assert.equal(handshake.status, 403, 'the polling handshake itself is refused');

      // Nor do the dashboard's other routes answer it with data.
      const setup = await fetch(`${demo.baseUrl}dashboard/_setup`);
      assert.equal(setup.status, 401);
      assert.equal(((await setup.json()) as { error: { code: string } }).error.code, 'UNAUTHENTICATED', 'the code says what the status says');
      assert.equal((await fetch(`${demo.baseUrl}dashboard/_debug/datastore/${TIMELINE}`)).status, 401);
      const page = await fetch(`${demo.baseUrl}dashboard/people`, { redirect: 'manual' });
      assert.equal(page.status, 302);
      assert.equal(page.headers.get('location'), '/porchlight/dashboard/login?return=%2Fdashboard%2Fpeople');
    });

    it('lets a read-only user watch, but drops every change it sends (a forged _client included)', async () => {
      const before = await faceDbState(demo.baseUrl, admin);
      const events = await eventCount(demo, admin);
      const viewer = open({ cookie: await sessionCookie(demo.baseUrl, (await login(demo.baseUrl, 'viewer')).token) });
      assert.equal(await viewer.outcome, 'connected');
      await waitUntil(() => viewer.received.some((r) => r.event === 'ui-config'), { timeout: 20_000, message: 'the dashboard configuration' });
      for (const [event, widget, msg] of hostileMessages(alice, mallory)) viewer.socket.emit(event, widget, msg);
      await flushed(viewer);
      assert.deepEqual(await faceDbState(demo.baseUrl, admin), before);
      assert.equal(await eventCount(demo, admin), events);
      assert.match(demo.log(), /a dashboard widget-send without porchlight\.write was dropped/);
    });

    it('carries out the same change from a user with porchlight.write, and face-db refuses it once that login is revoked', async () => {
      const { token } = await login(demo.baseUrl, 'admin');
      const writer = open({ cookie: await sessionCookie(demo.baseUrl, token) });
      assert.equal(await writer.outcome, 'connected');
      writer.socket.emit('widget-send', PEOPLE, { topic: 'face-db', action: 'move', personId: mallory.id, list: 'known', dashboard: { from: 'people', marker: 'allowed' } });
      assert.equal((await answer(writer, 'allowed')).ok, true);
      const moved = (await faceDbState(demo.baseUrl, admin)) as { people: Person[] };
      assert.equal(moved.people.find((p) => p.id === mallory.id)?.list, 'known');

      // Signing out of the editor revokes the token: the socket is still open, but face-db checks again.
      const revoke = await fetch(`${demo.baseUrl}auth/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
      assert.equal(revoke.status, 200);
      writer.socket.emit('widget-send', PEOPLE, { topic: 'face-db', action: 'move', personId: mallory.id, list: 'blacklist', dashboard: { from: 'people', marker: 'revoked' } });
      const refused = await answer(writer, 'revoked');
      assert.equal(refused.ok, false);
      assert.match(refused.message, /refused: this dashboard connection has no porchlight\.write permission/);
      const after = (await faceDbState(demo.baseUrl, admin)) as { people: Person[] };
      assert.equal(after.people.find((p) => p.id === mallory.id)?.list, 'known');
    });

    it('the dashboard session route: who is signed in, and the cookie it sets', async () => {
      const anonymous = (await (await fetch(`${demo.baseUrl}porchlight/dashboard/session`)).json()) as Record<string, unknown>;
      assert.deepEqual({ mode: anonymous.mode, read: anonymous.read, write: anonymous.write }, { mode: 'login', read: false, write: false });
      const { token } = await login(demo.baseUrl, 'viewer');
      const response = await fetch(`${demo.baseUrl}porchlight/dashboard/session`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{"expiresIn": 600}' });
      const cookie = response.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^porchlight_dashboard=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=600$/);
      const viewer = (await (await fetch(`${demo.baseUrl}porchlight/dashboard/session`, { headers: { cookie: cookie.split(';')[0] } })).json()) as Record<string, unknown>;
      assert.deepEqual({ user: viewer.user, read: viewer.read, write: viewer.write }, { user: 'viewer', read: true, write: false });
      // The cookie opens the admin API's reads, never its writes.
      assert.equal((await fetch(`${demo.baseUrl}porchlight/faces`, { headers: { cookie: cookie.split(';')[0] } })).status, 200);
      const adminCookie = await sessionCookie(demo.baseUrl, (await login(demo.baseUrl, 'admin')).token);
      assert.equal((await fetch(`${demo.baseUrl}porchlight/faces/Nobody`, { method: 'DELETE', headers: { cookie: adminCookie } })).status, 401);
      assert.equal((await fetch(`${demo.baseUrl}porchlight/dashboard/session`, { method: 'POST' })).status, 401, 'no session without a login');
    });
  });

  describe('httpNodeAuth without adminAuth', () => {
    let demo: DemoServer;
    const sockets: BareSocket[] = [];

    before(async () => {
      demo = await startDemo(undefined, { settingsJs: httpNodeAuthSettingsJs() });
    });

    after(async () => {
      for (const client of sockets) client.close();
      await demo?.stop();
    });

    it("asks the socket's polling handshake for the pages' credentials, and drops writes without them", async () => {
      assert.equal((await fetch(`${demo.baseUrl}dashboard/people`)).status, 401, 'the pages need the credentials');
      assert.equal((await fetch(`${demo.baseUrl}dashboard/socket.io/?EIO=4&transport=polling`)).status, 403, 'so does the socket');
      const wrong = await fetch(`${demo.baseUrl}dashboard/socket.io/?EIO=4&transport=polling`, { headers: { Authorization: basicHeader('door', 'guess') } });
      assert.equal(wrong.status, 403);

      const { people } = (await (await fetch(`${demo.baseUrl}porchlight/faces`)).json()) as { people: Person[] };
      const mallory = people.find((p) => p.name === 'Mallory')!;
      const before = await faceDbState(demo.baseUrl, '');
      const stranger = bareSocket(demo.baseUrl);
      sockets.push(stranger);
      stranger.socket.emit('widget-send', PEOPLE, { topic: 'face-db', action: 'move', personId: mallory.id, list: 'known', dashboard: { from: 'people' } });
      assert.match(await stranger.outcome, /^refused/);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.deepEqual(await faceDbState(demo.baseUrl, ''), before);

      const household = bareSocket(demo.baseUrl, { Authorization: basicHeader('door', PASSWORD) });
      sockets.push(household);
      assert.equal(await household.outcome, 'connected');
      household.socket.emit('widget-send', PEOPLE, { topic: 'face-db', action: 'move', personId: mallory.id, list: 'known', dashboard: { from: 'people', marker: 'household' } });
      assert.equal((await answer(household, 'household')).ok, true);
    });
  });
});
