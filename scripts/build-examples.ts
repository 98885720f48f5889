/**
 * Builds the flows users import (examples/) and the flow `npm start` deploys,
 * from one source: the fragments in flows/.
 *
 * A fragment is a Node-RED flow export, with two additions that keep long code
 * readable and reviewable as files rather than as JSON strings:
 * - a property `{ "$file": "dashboard/timeline.vue" }` is replaced by that file's text
 *   (ui-template formats, function node code);
 * - a pseudo-node `{ "type": "@wire", "from": "<id>", "port": 0, "to": "<id>" }` adds a
 *   wire from a node of another fragment on the same tab (a notification wired to a verdict output);
 * - a pseudo-node `{ "type": "@set", "id": "<id>", ...properties }` changes a node of another
 *   fragment (the demo feeds the camera from messages; the dashboard links to the pipeline's link nodes).
 *
 * Run at build (`npm run build`) it rewrites examples/<name>.json; `npm start`
 * calls `composeFlow` for the demo.
 */
import fs from 'node:fs';
import path from 'node:path';

export type FlowNode = { id: string; type: string; z?: string; wires?: string[][] } & Record<string, unknown>;

interface WirePseudoNode {
  type: '@wire';
  from: string;
  port?: number;
  to: string;
}

interface SetPseudoNode {
  type: '@set';
  id: string;
  [property: string]: unknown;
}

type FragmentItem = FlowNode | WirePseudoNode | SetPseudoNode;

const root = path.resolve(__dirname, '..', '..');
export const flowsDir = path.join(root, 'flows');
export const examplesDir = path.join(root, 'examples');

/**
 * What each generated example is made of, in order. The first tab opens on import.
 *
 * Examples live together: a user may import several into one Node-RED, so no
 * node id appears in two examples (Node-RED would ask which to keep).
 * - `doorbell` keeps the fragments' ids; its link nodes also name the
 *   dashboard's (`linksFrom`), so the dashboard connects whichever of the two
 *   is imported first (Node-RED drops a link to a node that is not there yet,
 *   and joins both ends' lists when it runs the flows).
 * - `doorbell-dashboard` is the dashboard alone (`attachTo`): it uses the
 *   `doorbell` example's face database, link nodes and camera by their ids, so
 *   importing both, in either order, gives one working system.
 * - the other pipeline variants rename the pipeline's ids with `idSuffix`.
 */
export interface ExampleSpec {
  fragments: string[];
  transform?: (nodes: FlowNode[]) => FlowNode[];
  /** Fragments whose `@set` of `links` on this example's link nodes apply (the other ends live in another example). */
  linksFrom?: string[];
  /** The fragment whose nodes this example references without containing them. */
  attachTo?: string;
  /** Appended to the id of every node from the `doorbell` fragment (and every reference to it). */
  idSuffix?: string;
}

export const EXAMPLES: Record<string, ExampleSpec> = {
  'doorbell': { fragments: ['doorbell'], linksFrom: ['dashboard'] },
  'doorbell-rpi-gpio': { fragments: ['doorbell'], transform: useRpiGpioTrigger, idSuffix: 'rpi' },
  'doorbell-dashboard': { fragments: ['dashboard'], attachTo: 'doorbell' },
  'notify-mqtt-home-assistant': { fragments: ['doorbell', 'notify-mqtt'], idSuffix: 'mqtt' },
  'notify-webhook': { fragments: ['doorbell', 'notify-webhook'], idSuffix: 'webhook' },
};

/** The flow `npm start` deploys: the pipeline, the dashboard and the simulated doorbell and camera. */
export const DEMO_FRAGMENTS = ['doorbell', 'dashboard', 'demo'];

function resolveIncludes(value: unknown, baseDir: string): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIncludes(item, baseDir));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$file === 'string' && Object.keys(record).length === 1) {
      return fs.readFileSync(path.join(baseDir, record.$file), 'utf8');
    }
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, resolveIncludes(item, baseDir)]));
  }
  return value;
}

/** Reads one fragment (flows/<name>.json) with its includes resolved. */
export function readFragment(name: string): FragmentItem[] {
  const file = path.join(flowsDir, `${name}.json`);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${file}: a flow fragment is a JSON array of nodes`);
  return resolveIncludes(parsed, flowsDir) as FragmentItem[];
}

/**
 * Joins fragments into one importable flow, applying their cross-fragment wires and changes.
 * `external` holds ids of nodes that live in another example: edits aimed at them are skipped.
 */
export function composeFlow(fragments: string[], external: ReadonlySet<string> = new Set()): FlowNode[] {
  const what = fragments.join(' + ');
  const nodes: FlowNode[] = [];
  const edits: (WirePseudoNode | SetPseudoNode)[] = [];
  for (const name of fragments) {
    for (const item of readFragment(name)) {
      if (item.type === '@wire' || item.type === '@set') edits.push(item as WirePseudoNode | SetPseudoNode);
      else nodes.push(item as FlowNode);
    }
  }
  const byId = new Map<string, FlowNode>();
  for (const node of nodes) {
    if (byId.has(node.id)) throw new Error(`node id ${node.id} appears twice in ${what}`);
    byId.set(node.id, node);
  }
  for (const edit of edits) {
    if (external.has(edit.type === '@set' ? edit.id : edit.from)) continue;
    if (edit.type === '@set') {
      const { type: _type, id, ...properties } = edit;
      const target = byId.get(id);
      if (!target) throw new Error(`@set: no node ${id} in ${what}`);
      Object.assign(target, properties);
      continue;
    }
    const from = byId.get(edit.from);
    const to = byId.get(edit.to);
    if (!from?.wires) throw new Error(`@wire: no node ${edit.from} with outputs in ${what}`);
    if (!to) throw new Error(`@wire: no node ${edit.to} in ${what}`);
    if (from.z !== to.z) throw new Error(`@wire: ${edit.from} and ${edit.to} are on different tabs (use link nodes)`);
    const port = edit.port ?? 0;
    while (from.wires.length <= port) from.wires.push([]);
    from.wires[port].push(edit.to);
  }
  return nodes;
}

/**
 * The same pipeline triggered by the standard `rpi-gpio in` node
 * (node-red-node-pi-gpio, sysfs numbering) instead of gpio-doorbell: the button
 * on BCM 17 to ground, with the Pi's pull-up, so a press reads 0.
 */
export function useRpiGpioTrigger(nodes: FlowNode[]): FlowNode[] {
  const doorbell = nodes.find((node) => node.type === 'porchlight-gpio-doorbell');
  if (!doorbell) throw new Error('the doorbell flow has no gpio-doorbell node to replace');
  const pressOnly: FlowNode = {
    id: `${doorbell.id}_pressed`,
    type: 'switch',
    z: doorbell.z,
    name: 'pressed (0 = pulled low)',
    property: 'payload',
    propertyType: 'msg',
    rules: [{ t: 'eq', v: '0', vt: 'num' }],
    checkall: 'true',
    repair: false,
    outputs: 1,
    x: Number(doorbell.x) + 20,
    y: Number(doorbell.y),
    wires: [doorbell.wires?.[0] ?? []],
  };
  const rpiGpio: FlowNode = {
    id: doorbell.id,
    type: 'rpi-gpio in',
    z: doorbell.z,
    name: 'doorbell button',
    pin: '11',
    intype: 'up',
    debounce: '25',
    read: false,
    bcm: true,
    x: Number(doorbell.x) - 120,
    y: Number(doorbell.y),
    wires: [[pressOnly.id]],
  };
  return nodes.flatMap((node) => {
    if (node === doorbell) return [rpiGpio, pressOnly];
    if (node.type === 'comment' && node.id === 'pl_comment_trigger') {
      return [{ ...node, name: 'rpi-gpio in (node-red-node-pi-gpio): button between physical pin 11 (BCM 17) and pin 9 (GND)' }];
    }
    return [node];
  });
}

/** Pretty JSON, one node per line: small diffs when a flow changes. */
export function formatFlow(nodes: FlowNode[]): string {
  return `[\n${nodes.map((node) => `  ${JSON.stringify(node)}`).join(',\n')}\n]\n`;
}

const idsOf = (fragment: string): Set<string> =>
  new Set(readFragment(fragment).filter((item): item is FlowNode => !item.type.startsWith('@')).map((node) => node.id));

/** Every string in `value` (deeply) that is a key of `renamed`, replaced by its new id. */
function renameIds<T>(value: T, renamed: ReadonlyMap<string, string>): T {
  if (typeof value === 'string') return (renamed.get(value) ?? value) as T;
  if (Array.isArray(value)) return value.map((item) => renameIds(item, renamed)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renameIds(item, renamed)])) as T;
  }
  return value;
}

/** Applies the `@set` of `links` that `fragment` makes on nodes of this flow. */
function linkTo(nodes: FlowNode[], fragment: string): void {
  for (const item of readFragment(fragment)) {
    if (item.type !== '@set') continue;
    const { id, links } = item as SetPseudoNode;
    const node = nodes.find((n) => n.id === id);
    if (node && Array.isArray(links)) node.links = [...new Set([...((node.links as string[]) ?? []), ...(links as string[])])];
  }
}

export function buildExample(name: string): FlowNode[] {
  const spec = EXAMPLES[name];
  let nodes = composeFlow(spec.fragments, spec.attachTo ? idsOf(spec.attachTo) : undefined);
  for (const fragment of spec.linksFrom ?? []) linkTo(nodes, fragment);
  if (spec.transform) nodes = spec.transform(nodes);
  if (spec.idSuffix) {
    const suffix = spec.idSuffix;
    nodes = renameIds(nodes, new Map([...idsOf('doorbell')].map((id) => [id, `${id}_${suffix}`])));
  }
  return nodes;
}

export function writeExamples(): string[] {
  fs.mkdirSync(examplesDir, { recursive: true });
  return Object.keys(EXAMPLES).map((name) => {
    const file = path.join(examplesDir, `${name}.json`);
    fs.writeFileSync(file, formatFlow(buildExample(name)));
    return file;
  });
}

if (require.main === module) {
  const written = writeExamples();
  console.log(`examples: wrote ${written.map((file) => path.relative(root, file)).join(', ')}`);
}
