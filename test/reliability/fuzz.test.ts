/**
 * Bodies cut at random points, sent to every /porchlight/ admin route and to
 * flow routes on httpNode (http in nodes, with and without file upload), with
 * and without adminAuth (Node-RED's default). A cut body either arrives whole but short (its
 * Content-Length says so: a multipart form without its closing boundary, half
 * a JSON object) or the client goes away mid-body. Node-RED must stay up and
 * answer every short body to a /porchlight/ route with a JSON 4xx, never a
 * 500 or an HTML stack page (Node-RED's own http in node answers a cut upload
 * with its 500 page: not ours to change, but it must not end the process). The cut points come from a seeded generator:
 * the same requests on every run.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { ALL_NODES, allNodesFlow, ROUTES } from '../support/admin-routes';
import { startNodeRedWithAuth, type EmbeddedNodeRed } from '../support/embedded-node-red';
import { demoPhoto } from '../support/images';

const SEED = 0x5eed15;
/** Cut points per route, body kind and way of cutting. */
const CUTS_PER_CASE = 2;
const BOUNDARY = 'porchlight-fuzz-boundary';
/** Flow routes on httpNode (under /api in the embedded runtime). */
const NODE_ROUTES = ['POST api/fuzz/upload', 'POST api/fuzz/json'];

/** mulberry32: a small seeded generator, so a failure replays. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Body {
  kind: string;
  contentType: string;
  bytes: Buffer;
}

function bodiesFor(json: object): Body[] {
  const photo = demoPhoto(1);
  const multipart = Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nEve\r\n`),
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="eve.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    photo,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
  return [
    { kind: 'json', contentType: 'application/json', bytes: Buffer.from(JSON.stringify({ ...json, notes: 'fuzz' })) },
    { kind: 'multipart', contentType: `multipart/form-data; boundary=${BOUNDARY}`, bytes: multipart },
    { kind: 'urlencoded', contentType: 'application/x-www-form-urlencoded', bytes: Buffer.from(new URLSearchParams({ name: 'Eve', image: photo.subarray(0, 600).toString('base64') }).toString()) },
  ];
}

interface Answer {
  status: number;
  contentType: string;
}

/**
 * Sends `body` cut to its first `cut` bytes over a raw socket. 'short': the
 * request says Content-Length `cut` (a whole request with a cut body), and
 * the answer's status line and headers come back. 'abort': the request says
 * the full length, and the client goes away after `cut` bytes.
 */
function send(red: EmbeddedNodeRed, method: string, url: string, body: Body, cut: number, mode: 'short' | 'abort', bearer?: string): Promise<Answer | undefined> {
  const { port } = new URL(red.base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${method} ${url} (${body.kind}, ${mode} at ${cut}/${body.bytes.length}): no answer within 20 s`));
    }, 20_000);
    const done = (answer: Answer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    socket.on('error', () => done(undefined)); // the server closing on a cut body is an answer too
    socket.on('connect', () => {
      const head = [
        `${method} /${url} HTTP/1.1`,
        'Host: 127.0.0.1',
        'Connection: close',
        `Content-Type: ${body.contentType}`,
        `Content-Length: ${mode === 'short' ? cut : body.bytes.length}`,
        ...(bearer ? [`Authorization: Bearer ${bearer}`] : []),
      ].join('\r\n');
      socket.write(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body.bytes.subarray(0, cut)]));
      if (mode === 'abort') setTimeout(() => done(undefined), 5);
    });
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      const contentType = /\r\ncontent-type: ([^\r\n]*)/i.exec(text.slice(0, end))?.[1] ?? '';
      done({ status, contentType });
    });
    socket.on('close', () => done(undefined));
  });
}

describe('reliability: fuzzed request bodies (cut and aborted)', function () {
  this.timeout(600_000);

  const flow = (userDir: string) => [
    ...allNodesFlow(userDir),
    { id: 'upload', type: 'http in', z: 'tab', url: '/fuzz/upload', method: 'post', upload: true, wires: [['answer']] },
    { id: 'json', type: 'http in', z: 'tab', url: '/fuzz/json', method: 'post', upload: false, wires: [['answer']] },
    { id: 'answer', type: 'http response', z: 'tab', wires: [] },
  ];

  for (const adminAuth of [true, false]) {
    describe(adminAuth ? 'with adminAuth' : 'without adminAuth (the default)', () => {
      let red: EmbeddedNodeRed;

      before(async () => {
        red = await startNodeRedWithAuth(ALL_NODES, flow, { adminAuth });
        await red.waitFor('porchlight/events');
      });

      after(async () => {
        await red?.stop();
      });

      it('a multipart enrolment without its closing boundary is a 400 JSON answer, and the process lives on', async () => {
        const bearer = adminAuth ? await red.token('admin') : undefined;
        const multipart = bodiesFor({})[1];
        const cut = multipart.bytes.length - `\r\n--${BOUNDARY}--\r\n`.length;
        const answer = await send(red, 'POST', 'porchlight/faces', multipart, cut, 'short', bearer);
        assert.deepEqual(answer, { status: 400, contentType: 'application/json; charset=utf-8' });
        assert.ok(red.alive());
      });

      const callers = adminAuth ? (['admin', 'nobody'] as const) : (['anyone'] as const);
      for (const caller of callers) {
        it(`${caller}: every route stays up and answers a cut body with a 4xx, never a 500 or an HTML page`, async () => {
          const bearer = caller === 'admin' ? await red.token('admin') : undefined;
          const random = seeded(SEED + (adminAuth ? 1 : 0) + (caller === 'nobody' ? 2 : 0));
          const routes = [...red.routes.map((r) => [r, ROUTES[r]?.url] as const), ...NODE_ROUTES.map((r) => [r, r.split(' ')[1]] as const)];
          assert.ok(routes.length > 30, `${routes.length} routes`);
          let sent = 0;
          let answered = 0;
          for (const [route, url] of routes) {
            assert.ok(url, `${route} has no URL in test/support/admin-routes.ts`);
            const method = route.split(' ')[0];
            for (const body of bodiesFor(ROUTES[route]?.body ?? { name: 'Eve' })) {
              for (const mode of ['short', 'abort'] as const) {
                for (let i = 0; i < CUTS_PER_CASE; i++) {
                  // 1 .. length-1: never the whole body (a proper prefix of a JSON object or a form is never complete).
                  const cut = 1 + Math.floor(random() * (body.bytes.length - 1));
                  const answer = await send(red, method, url, body, cut, mode, bearer);
                  sent++;
                  const what = `${route} (${body.kind}, ${mode} at ${cut}/${body.bytes.length}, ${caller})`;
                  assert.ok(red.alive(), `Node-RED died after ${what}`);
                  if (!answer) continue;
                  answered++;
                  // Flow routes are Node-RED's own http in node: a cut upload there is its multer's 500, but nothing dies.
                  if (url.startsWith('porchlight/')) {
                    assert.ok(answer.status < 500 || answer.status === 503, `${what}: ${answer.status}`);
                    assert.ok(!answer.contentType.includes('html'), `${what}: an HTML answer (${answer.contentType}, ${answer.status})`);
                    if (mode === 'short' && body.kind !== 'urlencoded' && method !== 'GET' && method !== 'DELETE' && caller !== 'nobody') {
                      // A cut JSON object or form is refused; the routes that take no body (a press) may run.
                      assert.ok(answer.status < 300 || [400, 404, 413].includes(answer.status), `${what}: ${answer.status}`);
                    }
                  }
                }
              }
            }
          }
          assert.ok(answered >= sent / 3, `${answered} of ${sent} cut requests answered`);
          const res = await fetch(`${red.base}porchlight/faces`, { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {} });
          assert.equal(res.status, caller === 'nobody' ? 401 : 200, 'the admin API still answers');
        });
      }
    });
  }
});
