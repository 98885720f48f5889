import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { buildExample, type FlowNode } from '../../scripts/build-examples';
import { newEventId } from '../../lib/events/event-id';
import { helper, nextMessage } from '../support/node-red';
import { lfwImage, nodeFile } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

/** A core node module of the Node-RED the tests run. */
const core = (file: string) => require(require.resolve(`@node-red/nodes/core/${file}`, { paths: [path.dirname(require.resolve('node-red'))] }));

interface Received {
  topic: string;
  retain: boolean;
  payload: Record<string, any>;
}

/** A subscriber on the broker: every message of `porchlight/#` and `homeassistant/#`, parsed. */
async function subscribe(port: number): Promise<{ client: mqtt.MqttClient; messages: Received[]; next(topic: string, ms?: number): Promise<Received> }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, retain: packet.retain, payload: JSON.parse(payload.toString()) }));
  await client.subscribeAsync(['porchlight/#', 'homeassistant/#'], { qos: 1 });
  const next = async (topic: string, ms = 15_000) => {
    const found = await waitUntil(() => messages.find((m) => m.topic === topic), {
      timeout: ms,
      message: () => `a message on ${topic} (got ${messages.map((m) => m.topic).join(', ') || 'none'})`,
    });
    messages.splice(messages.indexOf(found), 1);
    return found;
  };
  return { client, messages, next };
}

describe('MQTT: verdicts and events of each door through a real broker (aedes on loopback) and the core mqtt out node', function () {
  this.timeout(60_000);
  let broker: Aedes;
  let server: net.Server;
  let port: number;
  let dir: string;

  before(async () => {
    broker = await Aedes.createBroker();
    server = net.createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  beforeEach(() => {
    dir = tempDir('porchlight-mqtt-');
  });
  afterEach(async () => {
    await helper.unload();
  });
  after(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /**
   * The MQTT nodes of the shipped example (function, mqtt out, broker pointed
   * at the test broker) fed by a real event-log node, as the example wires it.
   */
  function flow(): FlowNode[] {
    const example = buildExample('notify-mqtt-home-assistant');
    const nodes = ['pl_mqtt_state', 'pl_mqtt_out', 'pl_mqtt_broker'].map((id) => {
      const node = structuredClone(example.find((n) => n.id === id)!);
      for (const key of ['z', 'g', 'x', 'y']) delete node[key]; // outside a tab, or Node-RED drops it as an orphan
      return node;
    });
    const brokerNode = nodes.find((n) => n.id === 'pl_mqtt_broker')!;
    Object.assign(brokerNode, { broker: '127.0.0.1', port: String(port) });
    const shippedLog = example.find((n) => n.type === 'porchlight-event-log')!;
    assert.deepEqual(shippedLog.wires![1].filter((id) => id === 'pl_mqtt_state'), ['pl_mqtt_state'], 'the example wires the event log\'s second output to MQTT');
    return [
      ...nodes,
      { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') },
      { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [[], ['pl_mqtt_state', 'recorded']] },
      { id: 'recorded', type: 'helper' },
    ];
  }

  async function connected(): Promise<void> {
    const out = helper.getNode('pl_mqtt_out') as unknown as { brokerConn: { connected: boolean } };
    await waitUntil(() => out.brokerConn.connected, { message: 'mqtt out to connect to the broker' });
  }

  it('a door\'s verdict (retained, with Home Assistant discovery once per door) and its stored event with snapshot URL', async () => {
    await helper.load([core('function/10-function.js'), core('network/10-mqtt.js'), require(nodeFile('porchlight-db')), require(nodeFile('event-log'))], flow());
    await connected();
    const sub = await subscribe(port);
    try {
      const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.parse('2026-11-30T10:00:00Z'), source: { node: 'bell', door: 'Front Door' } };
      const verdict = { status: 'known', people: [{ personId: 1, name: 'Alice', list: 'known', distance: 0.3 }, { personId: 2, name: 'Bob', list: 'known', distance: 0.4 }], framesSeen: 2, decidedAt: event.startedAt + 700, latencyMs: 700 };
      const box = { x: 75, y: 70, width: 100, height: 120 };

      // As face-recognize sends it: the verdict goes to MQTT at once and to the event log.
      helper.getNode('pl_mqtt_state').receive({ event, verdict });
      const update = await sub.next('porchlight/front_door/verdict');
      assert.equal(update.retain, false, 'a live subscriber gets it as news; the broker keeps it for later ones');
      assert.deepEqual(update.payload, { state: 'Alice, Bob', event_id: event.id, door: 'Front Door', verdict: 'known', names: ['Alice', 'Bob'], at: '2026-11-30T10:00:00.000Z', latency_ms: 700 });

      const discovery = await sub.next('homeassistant/sensor/porchlight_front_door_last_visitor/config');
      assert.equal(discovery.payload.state_topic, 'porchlight/front_door/verdict');
      assert.equal(discovery.payload.json_attributes_topic, 'porchlight/front_door/verdict');
      assert.equal(discovery.payload.name, 'Front Door last visitor');
      assert.equal(discovery.payload.value_template, '{{ value_json.state }}');

      const recorded = nextMessage<Record<string, any>>(helper.getNode('recorded'));
      const el = helper.getNode('el');
      el.receive({ event, payload: fs.readFileSync(lfwImage('Aaron_Eckhart', 1)), frame: { seq: 0 }, faces: [{ box, score: 0.99 }] });
      el.receive({ event, verdict, faces: [{ box, score: 0.99, match: { personId: 1, name: 'Alice', list: 'known', distance: 0.3 } }] });
      await recorded;
      const stored = await sub.next('porchlight/front_door/event');
      assert.equal(stored.retain, false);
      assert.deepEqual(stored.payload, {
        event_id: event.id, door: 'Front Door', verdict: 'known', names: ['Alice', 'Bob'], at: '2026-11-30T10:00:00.000Z', latency_ms: 700,
        status: 'completed', snapshot_url: `porchlight/events/${event.id}/snapshot.jpg`, error: null,
      });
      // The URL serves the snapshot.
      await helper.request().get(`/${stored.payload.snapshot_url}`).expect(200).expect('Content-Type', 'image/jpeg');

      // A second verdict at the same door: no second discovery. Another door: its own topic and sensor; no door: "doorbell".
      helper.getNode('pl_mqtt_state').receive({ event: { ...event, id: newEventId() }, verdict: { status: 'unknown', people: [], latencyMs: 500 } });
      assert.equal((await sub.next('porchlight/front_door/verdict')).payload.state, 'unknown');
      helper.getNode('pl_mqtt_state').receive({ event: { ...event, id: newEventId(), source: { door: 'garage' } }, verdict: { status: 'blacklisted', people: [{ name: 'Mallory', list: 'blacklist' }] } });
      assert.equal((await sub.next('porchlight/garage/verdict')).payload.state, 'blacklisted: Mallory');
      await sub.next('homeassistant/sensor/porchlight_garage_last_visitor/config');
      helper.getNode('pl_mqtt_state').receive({ event: { ...event, id: newEventId(), source: {} }, verdict: { status: 'no_face', people: [] } });
      assert.equal((await sub.next('porchlight/doorbell/verdict')).payload.door, null);
      await sub.next('homeassistant/sensor/porchlight_doorbell_last_visitor/config');
      assert.equal(sub.messages.filter((m) => m.topic.includes('front_door_last_visitor')).length, 0, 'one announcement per door');

      // A failed event goes out too, with its error.
      const failedEvent = { ...event, id: newEventId() };
      const failedRecorded = nextMessage<Record<string, any>>(helper.getNode('recorded'));
      el.receive({ event: failedEvent, error: { message: 'camera unreachable' } });
      await failedRecorded;
      const failed = await sub.next('porchlight/front_door/event');
      assert.equal(failed.payload.status, 'failed');
      assert.equal(failed.payload.snapshot_url, null);
      assert.match(failed.payload.error, /camera unreachable/);
    } finally {
      await sub.client.endAsync();
    }

    // Someone subscribing later (Home Assistant after a restart) gets each door's last visitor and sensor, retained.
    const late = await subscribe(port);
    try {
      const last = await late.next('porchlight/front_door/verdict');
      assert.equal(last.retain, true);
      assert.equal(last.payload.state, 'unknown');
      assert.equal((await late.next('homeassistant/sensor/porchlight_garage_last_visitor/config')).retain, true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(late.messages.filter((m) => m.topic.endsWith('/event')).length, 0, 'events are not retained');
    } finally {
      await late.client.endAsync();
    }
  });
});
