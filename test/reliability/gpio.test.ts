import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { writeFakeGpiomon } from '../support/fake-gpiomon';
import { helper, nextMessage } from '../support/node-red';
import { nodeFile } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

/**
 * What gpiomon prints when its chip goes away while it waits for edges
 * (a USB GPIO expander unplugged, a driver unbound): libgpiod reports the
 * kernel's ENODEV through perror, then gpiomon exits with 1.
 */
const CHIP_GONE = {
  '1': 'gpiomon: error waiting for events: No such device',
  '2': 'gpiomon: error waiting for edge events: No such device',
};

describe('reliability: the GPIO chip disappearing while gpiomon runs', function () {
  this.timeout(60_000);
  const gpioDoorbell = require(nodeFile('gpio-doorbell'));
  let dir: string;
  const saved = { ...process.env };

  beforeEach(() => {
    dir = tempDir('plg-'); // short: the chip path fits in the node status
  });
  afterEach(async () => {
    await helper.unload();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const dialect of ['1', '2'] as const) {
    it(`libgpiod v${dialect}: "gpiochip0 not found" while it is gone, retried with growing backoff, presses again once it is back`, async () => {
      writeFakeGpiomon(dir);
      // gpiomon accepts a chip path; a file stands in for the device node, removed and put back by the test.
      const chip = path.join(dir, 'gpiochip0');
      fs.writeFileSync(chip, '');
      process.env.PATH = `${dir}${path.delimiter}${saved.PATH}`;
      process.env.FAKE_GPIOMON_DIALECT = dialect;
      process.env.FAKE_GPIOMON_SCRIPT = JSON.stringify([
        { delay: 200, edge: 'rising' },
        { delay: 200, edge: 'falling' },
        { delay: 600, stderr: CHIP_GONE[dialect], exit: 1 },
      ]);
      await helper.load(gpioDoorbell, [
        { id: 'bell', type: 'porchlight-gpio-doorbell', backend: 'gpiod', chip, line: 17, debounce: 10, minPress: 20, longPress: 0, cooldown: 0, wires: [['press'], []] },
        { id: 'press', type: 'helper' },
      ]);
      const bell = helper.getNode('bell');
      const statuses: Array<{ fill: string; text: string; at: number }> = [];
      bell.on('call:status', (call: { args: [{ fill: string; text: string }] }) => statuses.push({ ...call.args[0], at: Date.now() }));
      const warnings: string[] = [];
      bell.on('call:warn', (call: { args: [string] }) => warnings.push(String(call.args[0])));

      const first = await nextMessage<Record<string, any>>(helper.getNode('press'), 15_000);
      fs.rmSync(chip); // the chip goes away while gpiomon is still waiting on it
      // Each retry shows its status once; the same text again is the press's idle status coming back. The status is
      // short ("button failing · retry 2 s": the test's chip path is too long for it); the sidebar says "not found".
      const notFound = () => statuses.filter((s, i) => s.fill === 'red' && /^button failing · retry [\d.]+ s$/.test(s.text) && s.text !== statuses[i - 1]?.text);
      await waitUntil(() => notFound().length >= 3, { timeout: 20_000, interval: 50, message: () => `three "not found" retries: ${JSON.stringify(statuses)}` });
      const retries = notFound().map((s) => Number(/retry ([\d.]+) s/.exec(s.text)![1]));
      assert.deepEqual(retries.slice(0, 3), [1, 2, 4], `gpiomon's exit and two device checks, with doubling delays: ${JSON.stringify(statuses)}`);
      assert.equal(warnings.filter((w) => w.includes(`${chip} not found`)).length, 1, 'logged once, not at every retry');
      assert.ok(statuses.every((s) => s.text.length <= 32), JSON.stringify(statuses));
      assert.ok(!statuses.some((s) => s.fill === 'green' && s.at > notFound()[0].at), 'not watching while the chip is gone');

      fs.writeFileSync(chip, ''); // back (the driver is bound again)
      const second = await nextMessage<Record<string, any>>(helper.getNode('press'), 20_000);
      assert.notEqual(second.event.id, first.event.id, 'a new press after the chip came back');
      assert.ok(statuses.some((s) => s.fill === 'green' && s.text.startsWith('watching') && s.at > notFound()[2].at), 'watching again');
    });
  }
});
