/**
 * Run by test/reliability/events.test.ts as a user who may not write the database
 * (root ignores file modes): loads porchlight-db, event-log, face-db and a
 * simulated doorbell on that file, tries a read and a write, and prints what
 * happened as one JSON line.
 */
import type { Node } from 'node-red';
import { newEventId } from '../../lib/events/event-id';
import { helper, nextMessage } from './node-red';
import { nodeFile } from './paths';

type Spied = Node & { status: { getCalls(): Array<{ thisValue: unknown; args: [{ text?: string; fill?: string }] }> } };

const [file, snapshotDir] = process.argv.slice(2);

/** Every status a node has shown so far (the helper spies on the node prototype). */
function statuses(id: string): string[] {
  const node = helper.getNode(id) as Spied;
  return node.status.getCalls().filter((call) => call.thisValue === node).map((call) => `${call.args[0]?.fill}: ${call.args[0]?.text}`);
}

/** The error `node` passes to done(err) for `msg`, or undefined when it sends `msg` on. */
function outcome(id: string, msg: Record<string, unknown>, outputId: string): Promise<{ error?: string; payload?: unknown }> {
  const node = helper.getNode(id);
  return Promise.race([
    new Promise<{ error: string }>((resolve) => {
      // done(err) logs with the message; the node's own this.error(text) at start has none.
      const onError = (call: { args: [Error, unknown?] }) => {
        if (!call.args[1]) return;
        node.off('call:error', onError);
        resolve({ error: String(call.args[0]?.message ?? call.args[0]) });
      };
      node.on('call:error', onError);
    }),
    nextMessage<Record<string, unknown>>(helper.getNode(outputId), 20_000).then((out) => ({ payload: out.payload })),
    (node.receive(msg), new Promise<never>(() => undefined)),
  ]);
}

async function main(): Promise<void> {
  await helper.load(['porchlight-db', 'event-log', 'face-db', 'gpio-doorbell'].map((name) => require(nodeFile(name))), [
    { id: 'db', type: 'porchlight-db', file, snapshotDir },
    { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [['elOut'], ['elOut']] },
    { id: 'fdb', type: 'porchlight-face-db', db: 'db', action: 'list', wires: [['fdbOut']] },
    { id: 'bell', type: 'porchlight-gpio-doorbell', backend: 'simulated', wires: [['bellOut'], []] },
    { id: 'elOut', type: 'helper' },
    { id: 'fdbOut', type: 'helper' },
    { id: 'bellOut', type: 'helper' },
  ]);
  const query = await outcome('el', { action: 'query', payload: {} }, 'elOut');
  const write = await outcome('el', { event: { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} } }, 'elOut');
  const list = await outcome('fdb', { action: 'list' }, 'fdbOut');
  const press = nextMessage<Record<string, any>>(helper.getNode('bellOut'), 10_000);
  helper.getNode('bell').receive({});
  const pressed = Boolean((await press).event?.id);
  const result = {
    query: query.error ?? `${(query.payload as { total?: number }).total} event(s)`,
    write: write.error ?? 'recorded',
    list: list.error ?? `${(list.payload as unknown[]).length} people`,
    pressed,
    statuses: { el: statuses('el'), fdb: statuses('fdb') },
  };
  await helper.unload();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
