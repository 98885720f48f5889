import fs from 'node:fs';
import path from 'node:path';
import { isPorchlightError, PorchlightError } from '../lib/errors';
import { decideFace, describeStrangerTolerance, type MatchCandidate, strangerTolerance } from '../lib/recognize';
import { detectFaces } from '../lib/engine';
import { euclidean } from '../lib/vision';
import type { EngineRequest } from './models';
import { embedFile, expandImageArgs, imagesIn, isImageFile, mapLimited, openPool, trbl } from './common';

type Io = { out: (line: string) => void; err: (line: string) => void };

interface EngineOptions {
  threads: number;
  detector: string;
  /** Set by --backend / --recognizer (cli/models.ts): overrides `detector`. */
  engine?: EngineRequest;
}

/** `porchlight detect`: one `file,top,right,bottom,left` line per face. */
export async function runDetectCommand(paths: string[], options: EngineOptions, io: Io): Promise<number> {
  const files = expandImageArgs(paths);
  const pool = openPool(options.threads);
  let failed = false;
  try {
    // Results are printed in file order as soon as each one (and all before it) is ready.
    await mapLimited(files, options.threads * 2, async (file) => {
      try {
        const result = await detectFaces(pool, fs.readFileSync(file), { detector: options.detector, ...options.engine, policy: 'wait', options: { landmarks: false } });
        return { file, lines: result.faces.map((face) => `${file},${trbl(face.box)}`) };
      } catch (err) {
        if (!isPorchlightError(err)) throw err;
        return { file, error: err.message };
      }
    }).then((results) => {
      for (const r of results) {
        if ('error' in r) {
          failed = true;
          io.err(`WARNING: ${r.file}: ${r.error}`);
        } else {
          r.lines.forEach((line) => io.out(line));
        }
      }
    });
  } finally {
    await pool.close();
  }
  return failed ? 1 : 0;
}

interface KnownFace {
  name: string;
  embedding: Float32Array;
  model?: string;
}

/** A known person is an image named after them, or a folder named after them holding images. */
export function knownImages(dir: string): Array<{ name: string; file: string }> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new PorchlightError('BAD_INPUT', `no such folder of known people: ${dir}`);
  const entries: Array<{ name: string; file: string }> = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) entries.push(...imagesIn(full).map((file) => ({ name: entry.name, file })));
    else if (entry.isFile() && isImageFile(entry.name)) entries.push({ name: path.parse(entry.name).name, file: full });
  }
  return entries;
}

export interface RecognizeOptions extends EngineOptions {
  /** A raw distance (`--tolerance`, as face_recognition's); undefined: from `strangersOneIn` and the known people. */
  tolerance?: number;
  /** "Strangers let through: about 1 in N" (`--strangers`), turned into a distance as face-recognize does. */
  strangersOneIn: number;
  /** The recognizer's own tolerance, for a model without shipped stranger statistics. */
  fallbackTolerance: number;
  margin: number;
  showDistance: boolean;
}

/** `porchlight recognize`: the face_recognition CLI's output, decided by Porchlight's tolerance + margin rule. */
export async function runRecognizeCommand(knownDir: string, unknown: string, options: RecognizeOptions, io: Io): Promise<number> {
  const knownFiles = knownImages(knownDir);
  if (knownFiles.length === 0) throw new PorchlightError('BAD_INPUT', `no images of known people in ${knownDir}`);
  const unknownFiles = expandImageArgs([unknown]);
  const pool = openPool(options.threads);
  let failed = false;
  try {
    const engine = { detector: options.detector, ...options.engine };
    const known: KnownFace[] = [];
    const knownResults = await mapLimited(knownFiles, options.threads * 2, (k) => embedFile(pool, k.file, engine));
    knownResults.forEach((result, i) => {
      if ('error' in result) {
        failed = true;
        io.err(`WARNING: ${result.file}: ${result.error}`);
        return;
      }
      const best = result.faces.find((f) => f.embedding);
      if (!best?.embedding) {
        io.err(`WARNING: No faces found in ${result.file}. Ignoring file.`);
        return;
      }
      if (result.faces.length > 1) io.err(`WARNING: More than one face found in ${result.file}. Only considering the best one.`);
      known.push({ name: knownFiles[i].name, embedding: best.embedding, model: best.model });
    });
    if (known.length === 0) throw new PorchlightError('BAD_INPUT', `no faces found in any image of ${knownDir}`);
    const photos = new Map<string, number>();
    for (const k of known) photos.set(k.name, (photos.get(k.name) ?? 0) + 1);
    // The same rule as face-recognize: the distance for the setting, this recognizer and this many people.
    const strangers = options.tolerance === undefined ? strangerTolerance(known[0].model, options.strangersOneIn, { photosPerPerson: [...photos.values()] }) : undefined;
    const decision = { margin: options.margin, tolerance: options.tolerance ?? strangers?.distance ?? options.fallbackTolerance };
    io.err(`tolerance: ${strangers ? describeStrangerTolerance(strangers) : `distance ${decision.tolerance}${options.tolerance === undefined ? " (the recognizer's)" : ''}`}`);
    // Names stand in for person ids: the CLI has no DB.
    const ids = new Map([...new Set(known.map((k) => k.name))].map((name, i) => [name, i + 1]));

    const results = await mapLimited(unknownFiles, options.threads * 2, (file) => embedFile(pool, file, engine));
    for (const result of results) {
      if ('error' in result) {
        failed = true;
        io.err(`WARNING: ${result.file}: ${result.error}`);
        continue;
      }
      const faces = result.faces.filter((f) => f.embedding);
      if (faces.length === 0) {
        io.out(`${result.file},no_persons_found`);
        continue;
      }
      for (const face of faces) {
        const best = new Map<string, number>();
        for (const k of known) best.set(k.name, Math.min(best.get(k.name) ?? Infinity, euclidean(face.embedding!, k.embedding)));
        const candidates: MatchCandidate[] = [...best].map(([name, distance]) => ({ personId: ids.get(name)!, name, list: 'known', distance }));
        const verdict = decideFace(candidates, decision);
        if (verdict.status === 'known' && verdict.match) {
          io.out(`${result.file},${verdict.match.name}${options.showDistance ? `,${verdict.match.distance.toFixed(4)}` : ''}`);
        } else {
          io.out(`${result.file},unknown_person${options.showDistance ? ',None' : ''}`);
        }
      }
    }
  } finally {
    await pool.close();
  }
  return failed ? 1 : 0;
}
