import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/paths';
import { buildExample, composeFlow, DEMO_FRAGMENTS, EXAMPLES, type FlowNode } from '../../scripts/build-examples';

/**
 * The shipped flows as the editor lays them out: no comment covers another node or comment.
 * A node's box is estimated the way Node-RED draws it: x/y are its centre; 30 px high; as wide
 * as its label (14 px font, about 7 px a character) plus the icon and padding (50 px, at least
 * 100 px); a comment has no icon (20 px of padding); a junction is a 10 px dot.
 */
type Box = { left: number; right: number; top: number; bottom: number };

function labelOf(node: FlowNode): string {
  // An unnamed Porchlight node shows its card's name (the type without the package prefix).
  const text = (node.name as string) || (node.label as string) || (node.type === 'comment' ? '' : node.type.replace(/^porchlight-/, ''));
  return text;
}

function boxOf(node: FlowNode): Box {
  const x = Number(node.x);
  const y = Number(node.y);
  if (node.type === 'junction') return { left: x - 5, right: x + 5, top: y - 5, bottom: y + 5 };
  const width = node.type === 'comment' ? labelOf(node).length * 7 + 20 : Math.max(100, labelOf(node).length * 7 + 50);
  return { left: x - width / 2, right: x + width / 2, top: y - 15, bottom: y + 15 };
}

const overlap = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

describe('the shipped flows: no comment overlaps a node or another comment in the editor', () => {
  const flows: Record<string, FlowNode[]> = { demo: composeFlow(DEMO_FRAGMENTS) };
  for (const name of Object.keys(EXAMPLES)) flows[name] = buildExample(name);
  // Every other file users can import from examples/ (one small flow per node), as shipped.
  const examplesDir = path.join(repoRoot, 'examples');
  for (const file of fs.readdirSync(examplesDir).filter((f) => f.endsWith('.json'))) {
    const name = path.basename(file, '.json');
    if (!(name in flows)) flows[name] = JSON.parse(fs.readFileSync(path.join(examplesDir, file), 'utf8')) as FlowNode[];
  }

  it('covers the demo and every file in examples/', () => {
    assert.deepEqual(Object.keys(flows).filter((name) => name !== 'demo').sort(), fs.readdirSync(examplesDir).filter((f) => f.endsWith('.json')).map((f) => path.basename(f, '.json')).sort());
  });

  for (const [name, nodes] of Object.entries(flows)) {
    it(`${name}: every comment stands clear`, () => {
      const placed = nodes.filter((node) => typeof node.x === 'number' && typeof node.y === 'number' && node.z);
      const clashes: string[] = [];
      for (const comment of placed.filter((node) => node.type === 'comment')) {
        for (const other of placed) {
          if (other === comment || other.z !== comment.z) continue;
          if (other.type === 'comment' && other.id < comment.id) continue; // each pair of comments once
          if (overlap(boxOf(comment), boxOf(other))) clashes.push(`"${labelOf(comment)}" (${comment.x},${comment.y}) covers ${other.type} "${labelOf(other)}" (${other.x},${other.y})`);
        }
      }
      assert.deepEqual(clashes, []);
    });
  }
});
