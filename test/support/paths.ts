import fs from 'node:fs';
import path from 'node:path';

/** The repository root (the folder holding package.json), found from the compiled test's location. */
export const repoRoot = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

/** `../shared` beside the repo: datasets and reference models, for tests only. */
export const sharedDir = path.resolve(repoRoot, '..', 'shared');
export const lfwDir = path.join(sharedDir, 'datasets', 'lfw', 'lfw_deepfunneled');
export const videosDir = path.join(sharedDir, 'datasets', 'intel-sample-videos', 'preview');
export const modelsDir = path.join(sharedDir, 'models');
export const faceApiDemoDir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');

/** Compiled node file of a node folder, as package.json's node-red section names it. */
export function nodeFile(name: string): string {
  return path.join(repoRoot, 'dist', 'nodes', name, `${name}.js`);
}

/** Every LFW person folder, sorted (stable across machines). */
export function lfwPeople(): string[] {
  return fs.readdirSync(lfwDir).sort();
}

export function lfwImage(person: string, n: number): string {
  return path.join(lfwDir, person, `${person}_${String(n).padStart(4, '0')}.jpg`);
}
