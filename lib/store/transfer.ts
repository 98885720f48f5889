import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PorchlightError } from '../errors';
import { normalizeName, parseList } from './names';
import { blobToEmbedding, embeddingToBlob } from './sqlite';
import type { FaceStore, NewFace, PersonList } from './types';

/**
 * The portable form of a face DB: JSON with embeddings as base64 float32
 * (little-endian, exact), and crops either inline (base64) or as files
 * `crops/<n>.jpg` beside `faces.json`. File names are numbers, never names.
 */
export const EXPORT_FORMAT = 'porchlight-faces';
export const EXPORT_VERSION = 1;
const MANIFEST = 'faces.json';

export interface ExportedFace {
  model: string;
  dim: number;
  /** base64 of the float32 embedding. */
  embedding: string;
  quality: number | null;
  source: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
  /** base64 JPEG (inline export) or a path relative to the export folder. */
  crop?: string;
  cropFile?: string;
}

export interface ExportedPerson {
  name: string;
  list: PersonList;
  notes: string;
  createdAt: number;
  faces: ExportedFace[];
}

export interface FaceExport {
  format: typeof EXPORT_FORMAT;
  version: number;
  exportedAt: number;
  people: ExportedPerson[];
}

export interface TransferReport {
  people: number;
  faces: number;
  /** Import only: faces already present (same person, model and embedding), not added twice. */
  skipped?: number;
}

/**
 * Every person and face of the store. With `dir`, writes `faces.json` and
 * `crops/` there; without, returns the crops inline. Yields to the event loop
 * between people, so a large DB does not stall Node-RED.
 */
export async function exportFaces(store: FaceStore, dir?: string): Promise<{ data: FaceExport; report: TransferReport }> {
  if (dir) await fs.promises.mkdir(path.join(dir, 'crops'), { recursive: true });
  const people: ExportedPerson[] = [];
  let faceCount = 0;
  for (const person of await store.listPeople()) {
    const faces: ExportedFace[] = [];
    for (const record of await store.listFaces(person.id)) {
      const face = await store.getFace(record.id);
      if (!face) continue; // removed meanwhile
      const exported: ExportedFace = {
        model: face.model,
        dim: face.dim,
        embedding: embeddingToBlob(face.embedding).toString('base64'),
        quality: face.quality,
        source: face.source,
        metadata: face.metadata,
        createdAt: face.createdAt,
      };
      if (face.crop && dir) {
        exported.cropFile = `crops/${++faceCount}.jpg`;
        await fs.promises.writeFile(path.join(dir, exported.cropFile), face.crop);
      } else {
        faceCount++;
        if (face.crop) exported.crop = face.crop.toString('base64');
      }
      faces.push(exported);
    }
    people.push({ name: person.name, list: person.list, notes: person.notes, createdAt: person.createdAt, faces });
    await yieldToEventLoop();
  }
  const data: FaceExport = { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: Date.now(), people };
  if (dir) await fs.promises.writeFile(path.join(dir, MANIFEST), JSON.stringify(data, null, 1));
  return { data, report: { people: people.length, faces: faceCount } };
}

/** Reads an export folder (or its `faces.json`), crops included. */
export async function readExportFolder(dir: string): Promise<FaceExport> {
  const manifest = dir.endsWith('.json') ? dir : path.join(dir, MANIFEST);
  const root = path.dirname(manifest);
  let data: FaceExport;
  try {
    data = JSON.parse(await fs.promises.readFile(manifest, 'utf8')) as FaceExport;
  } catch (err) {
    throw new PorchlightError('BAD_INPUT', `cannot read the export ${manifest}: ${(err as Error).message}`);
  }
  checkExport(data);
  for (const person of data.people) {
    for (const face of person.faces) {
      if (!face.cropFile) continue;
      // Crop paths come from the file: keep them inside the export folder.
      const file = path.resolve(root, face.cropFile);
      if (!file.startsWith(path.resolve(root) + path.sep)) throw new PorchlightError('BAD_INPUT', `crop path outside the export folder: ${face.cropFile}`);
      face.crop = (await fs.promises.readFile(file)).toString('base64');
    }
  }
  return data;
}

function checkExport(data: unknown): asserts data is FaceExport {
  const d = data as Partial<FaceExport> | null;
  if (!d || d.format !== EXPORT_FORMAT || !Array.isArray(d.people)) {
    throw new PorchlightError('BAD_INPUT', `not a Porchlight face export (expected format "${EXPORT_FORMAT}")`);
  }
  if (typeof d.version !== 'number' || d.version > EXPORT_VERSION) {
    throw new PorchlightError('BAD_INPUT', `face export version ${d.version} is newer than this Porchlight understands (${EXPORT_VERSION})`);
  }
}

const faceKey = (personName: string, model: string, embedding: Buffer) =>
  `${personName.toLowerCase()}\u0000${model}\u0000${createHash('sha1').update(embedding).digest('hex')}`;

/**
 * Adds an export's people and faces to the store: new people are created,
 * existing ones (same name) get the faces they do not have yet, so importing
 * the same export twice changes nothing. One transaction per person.
 */
export async function importFaces(store: FaceStore, data: unknown): Promise<TransferReport> {
  checkExport(data);
  // Validate everything before writing anything.
  const people = data.people.map((person) => ({
    name: normalizeName(person.name),
    list: parseList(person.list ?? 'known'),
    notes: typeof person.notes === 'string' ? person.notes : '',
    faces: (person.faces ?? []).map((face): NewFace => {
      const embedding = blobToEmbedding(Buffer.from(String(face.embedding), 'base64'));
      if (embedding.length !== face.dim) throw new PorchlightError('BAD_INPUT', `a face of ${person.name} has ${embedding.length} values, not ${face.dim}`);
      return {
        model: face.model,
        embedding,
        quality: face.quality ?? null,
        crop: face.crop ? Buffer.from(face.crop, 'base64') : null,
        source: face.source ?? null,
        metadata: face.metadata ?? {},
        createdAt: face.createdAt,
      };
    }),
  }));

  const names = new Map((await store.listPeople()).map((p) => [p.id, p.name]));
  const existing = new Set<string>();
  for await (const page of store.embeddings()) {
    for (const row of page) existing.add(faceKey(names.get(row.personId) ?? '', row.model, embeddingToBlob(row.embedding)));
  }

  const report: Required<TransferReport> = { people: 0, faces: 0, skipped: 0 };
  for (const person of people) {
    const fresh = person.faces.filter((face) => {
      const key = faceKey(person.name, face.model, embeddingToBlob(face.embedding));
      if (existing.has(key)) return false;
      existing.add(key);
      return true;
    });
    report.skipped += person.faces.length - fresh.length;
    if (fresh.length > 0) {
      // An existing person keeps their list here: moving someone stays an explicit act.
      const known = await store.getPerson(person.name);
      await store.enroll(person.name, fresh, known ? {} : { list: person.list, notes: person.notes });
      report.people++;
      report.faces += fresh.length;
    }
    await yieldToEventLoop();
  }
  return report;
}
