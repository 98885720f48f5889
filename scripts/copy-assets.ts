/**
 * Places each node's editor files next to its compiled JavaScript, where
 * Node-RED looks for them: nodes/<name>/<name>.html, locales/ and icons/.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const nodesDir = path.join(root, 'nodes');
const outDir = path.join(root, 'dist', 'nodes');
const iconsDir = path.join(root, 'icons');

for (const name of fs.readdirSync(nodesDir)) {
  const source = path.join(nodesDir, name);
  if (!fs.statSync(source).isDirectory() || name === 'shared') continue;
  const target = path.join(outDir, name);
  fs.mkdirSync(target, { recursive: true });
  for (const entry of fs.readdirSync(source)) {
    const from = path.join(source, entry);
    if (entry.endsWith('.html') || entry === 'locales') fs.cpSync(from, path.join(target, entry), { recursive: true });
  }
  fs.cpSync(iconsDir, path.join(target, 'icons'), { recursive: true });
}
