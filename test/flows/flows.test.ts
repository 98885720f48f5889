import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { buildExample, composeFlow, DEMO_FRAGMENTS, EXAMPLES, formatFlow, type FlowNode } from '../../scripts/build-examples';
import { repoRoot } from '../support/paths';

const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const porchlightTypes = new Set(Object.keys(packageJson['node-red'].nodes));
const coreTypes = new Set(['tab', 'group', 'comment', 'inject', 'debug', 'function', 'change', 'switch', 'catch', 'junction', 'link in', 'link out', 'file in', 'mqtt out', 'mqtt-broker', 'http request', 'template', 'json', 'delay', 'trigger', 'rbe']);
const isDashboardType = (type: string) => type.startsWith('ui-');

/** Checks what Node-RED itself would refuse or silently break on import. */
function assertWellFormed(name: string, nodes: FlowNode[]): void {
  const ids = new Set<string>();
  for (const node of nodes) {
    assert.ok(!ids.has(node.id), `${name}: duplicate id ${node.id}`);
    ids.add(node.id);
    assert.ok(!node.type.startsWith('@'), `${name}: pseudo-node ${node.type} left in the flow`);
  }
  const tabs = new Set(nodes.filter((n) => n.type === 'tab').map((n) => n.id));
  for (const node of nodes) {
    if (node.z !== undefined) assert.ok(tabs.has(node.z), `${name}: ${node.id} sits on a missing tab ${node.z}`);
    const z = node.z;
    for (const target of (node.wires ?? []).flat()) {
      const to = nodes.find((n) => n.id === target);
      assert.ok(to, `${name}: ${node.id} is wired to a missing node ${target}`);
      assert.equal(to.z, z, `${name}: ${node.id} is wired across tabs to ${target}`);
    }
    for (const link of (node.links as string[] | undefined) ?? []) {
      const other = nodes.find((n) => n.id === link);
      if (!other) continue; // a link to a fragment that is not part of this example stays dangling, as Node-RED allows
      assert.ok((other.links as string[]).includes(node.id), `${name}: link ${node.id} -> ${link} is one-sided`);
    }
    for (const value of Object.values(node)) {
      assert.ok(!(value && typeof value === 'object' && '$file' in (value as object)), `${name}: unresolved include in ${node.id}`);
    }
    if (node.g) assert.ok(nodes.find((n) => n.id === node.g && n.type === 'group'), `${name}: ${node.id} in a missing group`);
  }
}

/** The option names a Porchlight node's editor declares (`defaults` in nodes/<folder>/<folder>.html, the folder package.json names for the type). */
function editorOptions(type: string): Set<string> {
  const folder = path.basename(path.dirname((packageJson['node-red'].nodes as Record<string, string>)[type]));
  const html = fs.readFileSync(path.join(repoRoot, 'nodes', folder, `${folder}.html`), 'utf8');
  const defaults = /defaults:\s*\{([\s\S]*?)\n\s{4}\},/.exec(html);
  assert.ok(defaults, `${type}.html declares its defaults`);
  return new Set([...defaults[1].matchAll(/^\s{6}(\w+):/gm)].map((m) => m[1]));
}

const LAYOUT_KEYS = new Set(['id', 'type', 'z', 'g', 'x', 'y', 'wires']);

describe('flows and examples (scripts/build-examples.ts)', () => {
  it('every Porchlight node in the flows sets exactly the options its editor declares', () => {
    for (const node of [...composeFlow(DEMO_FRAGMENTS), ...buildExample('notify-mqtt-home-assistant'), ...buildExample('notify-webhook')]) {
      if (!porchlightTypes.has(node.type)) continue;
      const declared = editorOptions(node.type);
      const set = Object.keys(node).filter((key) => !LAYOUT_KEYS.has(key));
      assert.deepEqual(set.filter((key) => !declared.has(key)), [], `${node.id} (${node.type}) sets options its editor does not know`);
      assert.deepEqual([...declared].filter((key) => !set.includes(key)), [], `${node.id} (${node.type}) leaves options to chance`);
    }
  });

  it('no flow or example carries a model-specific distance: face-recognize says how often a stranger may get through', () => {
    const exampleFiles = fs.readdirSync(path.join(repoRoot, 'examples')).filter((f) => f.endsWith('.json'));
    const flows: Array<[string, FlowNode[]]> = [
      ['the demo flow', composeFlow(DEMO_FRAGMENTS)],
      ...exampleFiles.map((f): [string, FlowNode[]] => [`examples/${f}`, JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', f), 'utf8'))]),
    ];
    let recognizers = 0;
    for (const [name, nodes] of flows) {
      for (const node of nodes.filter((n) => n.type === 'porchlight-face-recognize')) {
        recognizers++;
        assert.equal(node.tolerance, '', `${name}: ${node.id} sets a raw distance (${String(node.tolerance)}), which suits one recognizer only`);
        assert.ok([100, 1000, 10000, 100000].includes(Number(node.strangers)), `${name}: ${node.id} has no "strangers let through" setting`);
      }
    }
    // The pipeline examples (doorbell, its rpi-gpio variant, the two notify flows; the dashboard example has none of its own), face-recognize's own, the demo.
    assert.ok(recognizers >= 6, `only ${recognizers} face-recognize nodes found`);
  });

  for (const name of Object.keys(EXAMPLES)) {
    it(`examples/${name}.json is generated from flows/ and up to date`, () => {
      const file = path.join(repoRoot, 'examples', `${name}.json`);
      assert.equal(fs.readFileSync(file, 'utf8'), formatFlow(buildExample(name)), `examples/${name}.json differs from flows/: run npm run build`);
    });

    it(`${name}: well formed, and uses only core, dashboard and Porchlight nodes`, () => {
      const nodes = buildExample(name);
      assertWellFormed(name, nodes);
      for (const node of nodes) {
        const known = coreTypes.has(node.type) || porchlightTypes.has(node.type) || isDashboardType(node.type) || node.type === 'rpi-gpio in';
        assert.ok(known, `${name}: node type ${node.type} is neither core, dashboard nor one of package.json's nodes`);
      }
    });
  }

  it('no node id appears in two examples (generated or per node): importing several never asks which to keep', () => {
    const seen = new Map<string, string>();
    for (const file of fs.readdirSync(path.join(repoRoot, 'examples')).filter((f) => f.endsWith('.json'))) {
      for (const node of JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', file), 'utf8')) as FlowNode[]) {
        assert.ok(!seen.has(node.id), `${node.id} is in both ${seen.get(node.id)} and ${file}`);
        seen.set(node.id, file);
      }
    }
  });

  it('doorbell + doorbell-dashboard, imported in either order, make one system: every reference resolves, links join', () => {
    const pipeline = buildExample('doorbell');
    const dashboard = buildExample('doorbell-dashboard');
    assert.equal(dashboard.filter((n) => porchlightTypes.has(n.type) && ['porchlight-gpio-doorbell', 'porchlight-frame-buffer', 'porchlight-face-recognize', 'porchlight-db'].includes(n.type)).length, 0, 'the dashboard example has no pipeline of its own');
    const first = dashboard.find((n) => n.type === 'comment')!;
    assert.match(String(first.name), /Dashboard 2\.0/);
    assert.match(String(first.name), /doorbell example/);
    const both = [...pipeline, ...dashboard];
    assertWellFormed('doorbell + doorbell-dashboard', both);
    const ids = new Set(both.map((n) => n.id));
    for (const node of dashboard) {
      for (const key of ['db', 'engine']) if (node[key]) assert.ok(ids.has(String(node[key])), `${node.id}.${key} = ${String(node[key])} resolves`);
    }
    // Whichever comes second keeps its links to the first (Node-RED drops links to nodes not there yet): both sides name each other.
    for (const node of dashboard.filter((n) => n.type.startsWith('link '))) {
      for (const other of node.links as string[]) {
        const target = pipeline.find((n) => n.id === other);
        assert.ok(target, `${node.id} links to ${other} of the doorbell example`);
        assert.ok((target.links as string[]).includes(node.id), `${other} links back to ${node.id}`);
      }
    }
    const camera = pipeline.find((n) => n.type === 'porchlight-frame-buffer')!;
    assert.ok(dashboard.some((n) => String(n.format ?? '').includes(`'${camera.id}'`)), 'the live view shows the doorbell example\'s camera');
  });

  it('the demo flow is well formed and feeds the camera from the simulated source', () => {
    const nodes = composeFlow(DEMO_FRAGMENTS);
    assertWellFormed('demo', nodes);
    const camera = nodes.find((n) => n.type === 'porchlight-frame-buffer');
    assert.equal(camera?.source, 'msg');
    const feeders = nodes.filter((n) => (n.wires ?? []).flat().includes(camera!.id));
    assert.ok(feeders.some((n) => n.type === 'file in'), 'a file in node replays the demo pictures into the frame-buffer');
  });

  it('the rpi-gpio variant replaces gpio-doorbell with rpi-gpio in, wired to the same frame-buffer', () => {
    const nodes = buildExample('doorbell-rpi-gpio');
    assert.equal(nodes.filter((n) => n.type === 'porchlight-gpio-doorbell').length, 0);
    const gpio = nodes.find((n) => n.type === 'rpi-gpio in')!;
    const pressed = nodes.find((n) => n.id === gpio.wires![0][0])!;
    assert.equal(pressed.type, 'switch');
    const camera = nodes.find((n) => n.type === 'porchlight-frame-buffer')!;
    assert.ok(pressed.wires![0].includes(camera.id));
  });

  it('every verdict output of face-recognize leads to a spot marked for notifications', () => {
    const nodes = buildExample('doorbell');
    const recognize = nodes.find((n) => n.type === 'porchlight-face-recognize')!;
    assert.equal(recognize.wires!.length, 4);
    for (const port of recognize.wires!) {
      const junction = nodes.find((n) => port.includes(n.id) && n.type === 'junction');
      assert.ok(junction, 'each verdict output reaches a junction for notifications');
    }
    assert.equal(nodes.filter((n) => n.type === 'comment' && /add your notification here/.test(String(n.name))).length, 4);
  });
});
