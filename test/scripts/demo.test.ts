import assert from 'node:assert/strict';
import os from 'node:os';
import { startDemo, type DemoServer } from '../../scripts/demo-server';
import { waitUntil } from '../support/wait';

/** What the demo's pipeline must conclude for each visitor it can put in front of its camera. */
const EXPECTED = [
  { visitor: 'alice', verdict: 'known', people: ['Alice'] },
  { visitor: 'mallory', verdict: 'blacklisted', people: ['Mallory'] },
  { visitor: 'stranger', verdict: 'unknown', people: [] },
  { visitor: 'nobody', verdict: 'no_face', people: [] },
];
/** The doorbell's cool-down in the demo flow (presses closer than this join one event). */
const COOLDOWN_MS = 3_000;
/** The demo's promise: a verdict in the log within 2 s of a press (the median of the presses; none may take twice that). */
const VERDICT_WITHIN_MS = 2_000;

interface StoredEvent {
  id: string;
  status: string;
  verdict: string | null;
  people: { name: string }[];
  startedAt: number;
  completedAt: number | null;
  processingMs: number | null;
  hasSnapshot: boolean;
}

describe('the demo (npm start): simulated doorbell and camera, enrolled cast', function () {
  this.timeout(300_000);
  let demo: DemoServer;
  let lastPressAt = 0;

  before(async () => {
    demo = await startDemo();
  });

  after(async () => {
    await demo?.stop();
  });

  const api = async (method: string, path: string): Promise<any> => {
    const response = await fetch(`${demo.baseUrl}${path}`, { method });
    if (!response.ok) assert.fail(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.headers.get('content-type')?.includes('json') ? response.json() : response.arrayBuffer();
  };

  /** Puts a visitor at the door (the demo's inject node), waits for the camera to show them, rings, and returns the event with the time its verdict took. */
  async function ringFor(visitor: string): Promise<{ event: StoredEvent; pressToVerdictMs: number }> {
    await api('POST', `inject/pl_demo_${visitor}`);
    // The pre-roll must hold frames of this visitor only, and the press must start a new event.
    await new Promise((resolve) => setTimeout(resolve, Math.max(800, lastPressAt + COOLDOWN_MS + 200 - Date.now())));
    const pressedAt = Date.now();
    lastPressAt = pressedAt;
    const { event } = await api('POST', 'porchlight/doorbell/pl_doorbell/press');
    const stored = await waitUntil(
      async () => {
        const got: StoredEvent = await api('GET', `porchlight/events/${event.id}`).catch(() => undefined);
        return got && (got.status === 'completed' || got.status === 'failed') ? got : undefined;
      },
      { timeout: 30_000, interval: 50, message: `a verdict for event ${event.id}` },
    );
    return { event: stored, pressToVerdictMs: Date.now() - pressedAt };
  }

  it('enrolled Alice (known) and Mallory (blacklist) at first start', async () => {
    const { people } = await api('GET', 'porchlight/faces');
    const byName = new Map(people.map((p: { name: string; list: string }) => [p.name, p.list]));
    assert.equal(byName.get('Alice'), 'known');
    assert.equal(byName.get('Mallory'), 'blacklist');
    assert.equal(byName.size, 2);
  });

  it('deploys the pipeline and the dashboard (GET /dashboard answers)', async () => {
    const flows: { type: string }[] = await api('GET', 'flows');
    for (const type of ['porchlight-gpio-doorbell', 'porchlight-frame-buffer', 'porchlight-face-detect', 'porchlight-face-recognize', 'porchlight-event-log', 'ui-template']) {
      assert.ok(flows.some((n) => n.type === type), `the demo flow has a ${type} node`);
    }
    const page = await fetch(`${demo.baseUrl}dashboard/`);
    assert.equal(page.status, 200);
  });

  it('the first press (models warming up) still ends with a verdict', async () => {
    const { event } = await ringFor('alice');
    assert.equal(event.status, 'completed');
  });

  const pressToVerdict: number[] = [];
  for (const expected of EXPECTED) {
    it(`${expected.visitor} at the door: a ${expected.verdict} verdict in the log, with a snapshot`, async () => {
      const { event, pressToVerdictMs } = await ringFor(expected.visitor);
      pressToVerdict.push(pressToVerdictMs);
      assert.equal(event.status, 'completed');
      assert.equal(event.verdict, expected.verdict);
      assert.deepEqual(event.people.map((p) => p.name).sort(), expected.people);
      assert.ok(event.hasSnapshot, 'the event has a snapshot');
      const thumbnail = Buffer.from(await api('GET', `porchlight/events/${event.id}/thumbnail.jpg`));
      assert.equal(thumbnail.readUInt16BE(0), 0xffd8, 'the thumbnail is a JPEG');
    });
  }

  it(`a press reaches a verdict in the log within ${VERDICT_WITHIN_MS / 1000} s`, function () {
    const sorted = [...pressToVerdict].sort((a, b) => a - b);
    assert.equal(sorted.length, EXPECTED.length);
    const median = sorted[Math.floor(sorted.length / 2)];
    const load = os.loadavg()[0];
    console.log(`      press to verdict in the log (ms): ${pressToVerdict.join(', ')}; median ${median}; load average ${load.toFixed(1)} on ${os.availableParallelism()} cores`);
    // A timing promise means nothing on a machine that other jobs oversubscribe (the figures above still show).
    if (load > 2 * os.availableParallelism()) this.skip();
    assert.ok(median < VERDICT_WITHIN_MS, `median press to verdict ${median} ms`);
    assert.ok(sorted[sorted.length - 1] < 2 * VERDICT_WITHIN_MS, `slowest press to verdict ${sorted[sorted.length - 1]} ms`);
  });
});
