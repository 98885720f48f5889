import assert from 'node:assert/strict';
import fs from 'node:fs';
import { httpStatusOf, type PorchlightErrorCode } from '../../../lib/errors';
import { routeTable } from '../../../nodes/admin-http';
import { ALL_NODES, allNodesFlow, EVENT, ROUTES } from '../../support/admin-routes';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../../support/embedded-node-red';
import { helper } from '../../support/node-red';
import { nodeFile } from '../../support/paths';
import { tempDir } from '../../support/temp';

/** A request each route refuses before it changes or downloads anything, and the code it must answer. */
const BAD: Record<string, { url: string; body?: object; code: PorchlightErrorCode }> = {
  'GET /porchlight/faces': { url: 'porchlight/faces?db=nope', code: 'NOT_FOUND' },
  'GET /porchlight/faces/:id': { url: 'porchlight/faces/abc', code: 'BAD_INPUT' },
  'GET /porchlight/faces/by-name/:name': { url: 'porchlight/faces/by-name/Nobody', code: 'NOT_FOUND' },
  'GET /porchlight/faces/:id/crops/:faceId': { url: 'porchlight/faces/abc/crops/1', code: 'BAD_INPUT' },
  'POST /porchlight/faces': { url: 'porchlight/faces', body: { name: 'Eve' }, code: 'BAD_INPUT' },
  'DELETE /porchlight/faces/:id': { url: 'porchlight/faces/abc', code: 'BAD_INPUT' },
  'DELETE /porchlight/faces/by-name/:name': { url: 'porchlight/faces/by-name/Nobody', code: 'NOT_FOUND' },
  'GET /porchlight/events': { url: 'porchlight/events?log=nope', code: 'NOT_FOUND' },
  'GET /porchlight/events.csv': { url: 'porchlight/events.csv?log=nope', code: 'NOT_FOUND' },
  'GET /porchlight/events.json': { url: 'porchlight/events.json?log=nope', code: 'NOT_FOUND' },
  'GET /porchlight/events/:id': { url: 'porchlight/events/x.y', code: 'BAD_INPUT' },
  'GET /porchlight/events/:id/snapshot.jpg': { url: 'porchlight/events/x.y/snapshot.jpg', code: 'BAD_INPUT' },
  'GET /porchlight/events/:id/thumbnail.jpg': { url: `porchlight/events/${EVENT}/thumbnail.jpg`, code: 'NOT_FOUND' },
  'GET /porchlight/events/:id/faces/:face/crop.jpg': { url: `porchlight/events/${EVENT}/faces/0/crop.jpg`, code: 'BAD_INPUT' },
  'DELETE /porchlight/events/:id': { url: `porchlight/events/${EVENT}`, code: 'NOT_FOUND' },
  'POST /porchlight/models/install': { url: 'porchlight/models/install', body: { pack: 42 }, code: 'BAD_INPUT' },
  'GET /porchlight/camera/:id/latest.jpg': { url: 'porchlight/camera/fb/latest.jpg', code: 'NOT_FOUND' },
  'GET /porchlight/camera/:id/stream.mjpeg': { url: 'porchlight/camera/nope/stream.mjpeg', code: 'NOT_FOUND' },
  'POST /porchlight/doorbell/:id/press': { url: 'porchlight/doorbell/nope/press', body: {}, code: 'NOT_FOUND' },
  'GET /porchlight/visitors': { url: 'porchlight/visitors?db=nope', code: 'NOT_FOUND' },
  'POST /porchlight/visitors/find': { url: 'porchlight/visitors/find', body: {}, code: 'BAD_INPUT' },
  'GET /porchlight/visitors/:id': { url: 'porchlight/visitors/abc', code: 'BAD_INPUT' },
  'GET /porchlight/visitors/:id/faces/:faceId/crop': { url: 'porchlight/visitors/abc/faces/1/crop', code: 'BAD_INPUT' },
  'POST /porchlight/visitors/:id/name': { url: 'porchlight/visitors/999999/name', body: {}, code: 'BAD_INPUT' },
  'POST /porchlight/visitors/:id/merge': { url: 'porchlight/visitors/999999/merge', body: {}, code: 'BAD_INPUT' },
  'POST /porchlight/visitors/:id/dismiss': { url: 'porchlight/visitors/999999/dismiss', body: {}, code: 'NOT_FOUND' },
  'POST /porchlight/events/:id/faces/:face/label': { url: 'porchlight/events/x.y/faces/1/label', body: { verdict: 'reject' }, code: 'BAD_INPUT' },
  'GET /porchlight/calibration': { url: 'porchlight/calibration?db=nope', code: 'NOT_FOUND' },
  'POST /porchlight/calibration/apply': { url: 'porchlight/calibration/apply?db=nope', body: { far: 0.01 }, code: 'NOT_FOUND' },
  'POST /porchlight/calibration/clear': { url: 'porchlight/calibration/clear?db=nope', body: {}, code: 'NOT_FOUND' },
  'GET /porchlight/calibration/history': { url: 'porchlight/calibration/history?limit=0', code: 'BAD_INPUT' },
};
/** Routes that take no input at all: only a malformed body can be wrong with them. */
const NO_INPUT = ['GET /porchlight/metrics', 'GET /porchlight/health', 'GET /porchlight/models'];

/** Every node but the vision ones (face-detect, face-recognize): no worker pool starts. */
const lightFlow = (dir: string) => allNodesFlow(dir).filter((node) => !['fd', 'fr'].includes((node as { id: string }).id));

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD /porchlight/...` of every route on an express app, as often as it is registered. */
function expressRoutes(app: { _router?: { stack: Layer[] } }): string[] {
  return (app._router?.stack ?? []).flatMap((layer) =>
    layer.route && layer.route.path.startsWith('/porchlight/') ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`) : [],
  );
}

/** The one error shape, with the status its code maps to. */
function assertErrorShape(route: string, status: number, body: unknown, code?: PorchlightErrorCode): void {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  assert.ok(error && typeof error === 'object', `${route}: ${status} ${JSON.stringify(body)} has no {error: {...}}`);
  assert.equal(typeof error.code, 'string', `${route}: error.code`);
  assert.equal(typeof error.message, 'string', `${route}: error.message`);
  assert.ok((error.message as string).length > 0, `${route}: an empty message`);
  if (code) assert.equal(error.code, code, `${route}: ${error.message as string}`);
  assert.equal(status, httpStatusOf(error.code as PorchlightErrorCode), `${route}: status of ${error.code as string}`);
}

describe('admin HTTP layer: one registration, one wrapper, one error shape', function () {
  this.timeout(180_000);

  describe('node-red-node-test-helper, every node module loaded', () => {
    const modules = ALL_NODES.map((name) => require(nodeFile(name)));
    let dir: string;
    let app: { _router?: { stack: Layer[] } };

    before(async () => {
      dir = tempDir('porchlight-admin-http-');
      await helper.load(modules, lightFlow(dir));
      app = (helper as unknown as { _httpAdmin: typeof app })._httpAdmin;
    });

    after(async () => {
      await helper.unload();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('registers every route once, though each of the 8 node modules asks', () => {
      const routes = expressRoutes(app);
      assert.deepEqual(routes.filter((r, i) => routes.indexOf(r) !== i), [], 'registered twice');
      assert.deepEqual([...routes].sort(), Object.keys(ROUTES).sort());
      const table = routeTable(app)!;
      assert.deepEqual(table.map((r) => `${r.method.toUpperCase()} ${r.path}`), routes, 'the table lists what is registered, in order');
    });

    it('puts every write behind porchlight.write and every read behind porchlight.read', () => {
      for (const { method, path: route, permission } of routeTable(app)!) {
        const key = `${method.toUpperCase()} ${route}`;
        assert.equal(permission, ROUTES[key].write ? 'porchlight.write' : 'porchlight.read', key);
        // A search carries its photo in a POST; everything else that is not a GET changes something.
        if (method !== 'get' && key !== 'POST /porchlight/visitors/find') assert.equal(permission, 'porchlight.write', key);
      }
    });

    it('answers {error: {code, message}} with the status of its code on a bad request to each route', async () => {
      const routes = expressRoutes(app);
      assert.deepEqual(routes.filter((r) => !(r in BAD) && !NO_INPUT.includes(r)), [], 'a route without a bad request here');
      for (const route of routes.filter((r) => r in BAD)) {
        const { url, body, code } = BAD[route];
        const method = route.split(' ')[0].toLowerCase() as 'get' | 'post' | 'delete';
        const res = await helper.request()[method](`/${url}`).send(body);
        assertErrorShape(route, res.status, res.body, code);
      }
    });

    it('answers a malformed JSON body on every route in the same shape (400 BAD_INPUT)', async () => {
      for (const route of expressRoutes(app)) {
        const [method, pattern] = route.split(' ');
        const url = pattern.replace(/:[a-zA-Z]+/g, '1');
        const res = await helper.request()[method.toLowerCase() as 'get'](url).set('Content-Type', 'application/json').send('{"name": ');
        assertErrorShape(route, res.status, res.body, 'BAD_INPUT');
      }
    });
  });

  it('registers the whole API with one node module loaded and nothing deployed', async () => {
    await helper.load(require(nodeFile('frame-buffer')), []);
    try {
      const app = (helper as unknown as { _httpAdmin: { _router?: { stack: Layer[] } } })._httpAdmin;
      assert.deepEqual(expressRoutes(app).sort(), Object.keys(ROUTES).sort());
      const res = await helper.request().get('/porchlight/faces');
      assertErrorShape('GET /porchlight/faces', res.status, res.body, 'NOT_FOUND');
      assert.match(res.body.error.message, /no porchlight-db config node is deployed/);
    } finally {
      await helper.unload();
    }
  });

  describe('a real Node-RED with adminAuth', () => {
    let red: EmbeddedNodeRed;

    before(async () => {
      red = await startNodeRedWithAuth(ALL_NODES, lightFlow);
      await red.waitFor('porchlight/events');
    });

    after(async () => {
      await red?.stop();
    });

    async function call(route: string, url: string, options: { bearer?: string; body?: string } = {}): Promise<{ status: number; body: unknown }> {
      const res = await fetch(`${red.base}${url}`, {
        method: route.split(' ')[0],
        headers: { ...(options.bearer ? { Authorization: `Bearer ${options.bearer}` } : {}), ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: options.body,
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: Node-RED's own 401 page
      }
      return { status: res.status, body };
    }

    it('lists the same routes', () => {
      assert.deepEqual([...red.routes].sort(), Object.keys(ROUTES).sort());
    });

    it('answers 401 without a token, and 401/403 to a read-only user on every write; the read-only user reads', async () => {
      const viewer = await red.token('viewer', 'read');
      for (const route of red.routes) {
        const bad = BAD[route];
        const url = bad?.url ?? ROUTES[route].url;
        const given = bad?.body ?? ROUTES[route].body;
        const body = given ? JSON.stringify(given) : undefined;
        assert.equal((await call(route, url, { body })).status, 401, `${route} without a token`);
        const asViewer = await call(route, url, { bearer: viewer, body });
        if (ROUTES[route].write) assert.ok([401, 403].includes(asViewer.status), `${route} as the read-only user: ${asViewer.status}`);
        else if (bad) assertErrorShape(route, asViewer.status, asViewer.body, bad.code);
        else assert.equal(asViewer.status, 200, `${route} as the read-only user`);
      }
    });

    it('answers a malformed JSON body in the one shape behind the editor\'s body parser', async () => {
      const admin = await red.token('admin');
      // fetch sends no body with a GET: the GET routes meet a malformed body in the test helper above.
      for (const route of red.routes.filter((r) => !r.startsWith('GET '))) {
        const url = route.split(' ')[1].slice(1).replace(/:[a-zA-Z]+/g, '1');
        const { status, body } = await call(route, url, { bearer: admin, body: '{"name": ' });
        assertErrorShape(route, status, body, 'BAD_INPUT');
      }
    });
  });
});
