import assert from 'node:assert/strict';
import { DoorbellButton, type DoorbellMessage, type DoorbellSettings, watcherWords } from '../../../lib/gpio/doorbell';
import { MAX_STATUS, type StatusWords } from '../../../lib/events/status-words';
import { waitUntil } from '../../support/wait';

const SIMULATED: DoorbellSettings = {
  node: 'bell1',
  door: 'front',
  simulated: true,
  chip: 'gpiochip0',
  line: 17,
  bias: 'pull-up',
  activeLow: true,
  press: { debounceMs: 10, minPressMs: 10, longPressMs: 80, cooldownMs: 60_000 },
};

/** A simulated button and what it sent, showed and said. */
function button(settings: Partial<DoorbellSettings> = {}) {
  const sent: [DoorbellMessage | null, DoorbellMessage | null][] = [];
  const statuses: StatusWords[] = [];
  const said: string[] = [];
  const bell = new DoorbellButton({ ...SIMULATED, ...settings }, {
    send: (messages) => sent.push(messages),
    status: (words) => statuses.push(words),
    log: (line) => said.push(`log ${line}`),
    warn: (line) => said.push(`warn ${line}`),
  });
  return { bell, sent, statuses, said };
}

describe('gpio: a doorbell button turns presses into events', function () {
  this.timeout(20_000);
  let bells: DoorbellButton[] = [];
  afterEach(async () => {
    await Promise.all(bells.map((b) => b.close()));
    bells = [];
  });

  it('a press sends a new event on output 1, from the simulated button at its door', async () => {
    const { bell, sent, statuses } = button();
    bells.push(bell);
    bell.start();
    assert.deepEqual(statuses, [{ tone: 'ready', text: 'simulated' }]);
    const event = bell.simulatePress(20);
    assert.ok(event);
    assert.equal(sent.length, 1);
    const [press, long] = sent[0];
    assert.equal(long, null);
    assert.deepEqual(press, { topic: 'doorbell', payload: 'press', event, press: { count: 1, long: false } });
    assert.equal(event.trigger, 'doorbell');
    assert.deepEqual(event.source, { node: 'bell1', door: 'front', chip: 'simulated', line: null });
    assert.match(statuses[1].text, /^pressed /);
    // Shown for a second after the release, then the idle status again.
    await waitUntil(() => statuses.length === 3, { timeout: 5_000, message: 'the idle status again' });
    assert.deepEqual(statuses[2], { tone: 'ready', text: 'simulated' });
  });

  it('a press within the cool-down joins the event: no message, the count in the status', async () => {
    const { bell, sent, statuses } = button();
    bells.push(bell);
    const first = bell.simulatePress(15);
    await waitUntil(() => statuses.length === 2, { timeout: 5_000, message: 'the first press shown, then idle' });
    const second = bell.simulatePress(15);
    assert.equal(second, first);
    assert.equal(sent.length, 1);
    assert.deepEqual(statuses[2], { tone: 'ready', text: `press 2 joined event ${first!.id.slice(-6)}` });
  });

  it('a long press sends the same event on output 2, with how long it was held', async () => {
    const { bell, sent } = button();
    bells.push(bell);
    const event = bell.simulatePress(300);
    await waitUntil(() => sent.length === 2, { timeout: 5_000, message: 'the long press' });
    const [none, long] = sent[1];
    assert.equal(none, null);
    assert.equal(long!.payload, 'long-press');
    assert.equal(long!.event, event);
    assert.equal(long!.press.long, true);
    assert.ok(long!.press.heldMs! > 0, 'how long the button was held when it became a long press');
  });

  it('a GPIO button says where its events come from; closed, it presses no more', async () => {
    const { bell } = button({ simulated: false, chip: 'gpiochip4', line: 27, door: null });
    assert.deepEqual(bell.source, { node: 'bell1', door: null, chip: 'gpiochip4', line: 27 });
    await bell.close();
  });
});

describe('gpio: the status of a watched line', () => {
  it('watching shows the line; starting and stopped change nothing', () => {
    assert.deepEqual(watcherWords('watching', 'gpiochip0/17 (libgpiod v2)', 'gpiochip0/17'), { tone: 'ready', text: 'watching gpiochip0/17' });
    assert.equal(watcherWords('starting', 'gpiochip0/17', 'gpiochip0/17'), undefined);
    assert.equal(watcherWords('stopped', '', 'gpiochip0/17'), undefined);
  });

  it('a problem in its own words with the retry when they fit, else "button failing"', () => {
    assert.deepEqual(watcherWords('restarting', 'gpiochip0 not found (retry in 2 s)', 'gpiochip0/17'), { tone: 'warn', text: 'gpiochip0 not found · retry 2 s', detail: 'gpiochip0 not found' });
    assert.deepEqual(watcherWords('error', 'gpiomon not installed: apt install gpiod (retry in 30 s)', 'gpiochip0/17'), {
      tone: 'error',
      text: 'gpiomon not installed',
      detail: 'gpiomon not installed: apt install gpiod',
    });
    const long = watcherWords('restarting', '/dev/gpiochip-with-a-very-long-device-name-here not found (retry in 1.5 s)', 'x/1');
    assert.equal(long!.text, 'button failing · retry 1.5 s');
    // The longest retry the watcher's backoff reaches still fits a status whole.
    const slowRetry = watcherWords('restarting', '/dev/gpiochip-with-a-very-long-device-name-here not found (retry in 12.5 s)', 'x/1');
    assert.equal(slowRetry!.text, 'button failing · retry 12.5 s');
    assert.ok(slowRetry!.text.length <= MAX_STATUS);
    assert.equal(watcherWords('error', 'gpiomon exited 1', 'x/1')!.text, 'gpiomon exited 1');
  });

  it('each new problem of a GPIO line is warned once, its status follows every change', () => {
    const { bell, statuses, said } = button({ simulated: false });
    const emit = (state: string, detail: string) => (bell as any).watcherChanged(state, detail);
    emit('restarting', 'gpiochip0 not found (retry in 1 s)');
    emit('restarting', 'gpiochip0 not found (retry in 2 s)');
    emit('watching', 'gpiochip0/17 (libgpiod v2)');
    emit('restarting', 'gpiochip0 not found (retry in 1 s)');
    assert.deepEqual(said, ['warn gpio-doorbell gpiochip0/17: gpiochip0 not found', 'log gpio-doorbell watching gpiochip0/17 (libgpiod v2)', 'warn gpio-doorbell gpiochip0/17: gpiochip0 not found']);
    assert.deepEqual(statuses.map((s) => s.text), ['gpiochip0 not found · retry 1 s', 'gpiochip0 not found · retry 2 s', 'watching gpiochip0/17', 'gpiochip0 not found · retry 1 s']);
    return bell.close();
  });
});
