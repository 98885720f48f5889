import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PorchlightError } from '../errors';
import { normalizeName, parseList } from './names';
import { blobToEmbedding, embeddingToBlob } from './sqlite';
import type { FaceKind, Store, NewFace, PersonList } from './types';

/**
 * The portable form of a face DB: JSON with embeddings as base64 float32
 * (little-endian, exact), and crops either inline (base64) or as files
 * `crops/<n>.jpg` beside `faces.json`. File names are numbers, never names.
 */
export const EXPORT_FORMAT = 'porchlight-faces';
export const EXPORT_VERSION = 1;
const MANIFEST = 'faces.json';

export interface ExportedFace {
  /** Absent in exports made before negatives existed: `positive`. */
  kind?: FaceKind;
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
 * Every person with their faces, one person at a time (yielding to the event
 * loop between people). `keepCrop` decides how a face refers to its crop.
 */
async function* exportedPeople(
  store: Store,
  keepCrop: (crop: Buffer, faceNumber: number) => Promise<Pick<ExportedFace, 'crop' | 'cropFile'>>,
  report: TransferReport,
): AsyncGenerator<ExportedPerson> {
  for (const person of await store.listPeople()) {
    const faces: ExportedFace[] = [];
    for (const record of await store.listFaces(person.id)) {
      const face = await store.getFace(record.id);
      if (!face) continue; // removed meanwhile
      const faceNumber = ++report.faces;
      faces.push({
        kind: face.kind,
        model: face.model,
        dim: face.dim,
        embedding: embeddingToBlob(face.embedding).toString('base64'),
        quality: face.quality,
        source: face.source,
        metadata: face.metadata,
        createdAt: face.createdAt,
        ...(face.crop ? await keepCrop(face.crop, faceNumber) : {}),
      });
    }
    report.people++;
    yield { name: person.name, list: person.list, notes: person.notes, createdAt: person.createdAt, faces };
    await yieldToEventLoop();
  }
}

/** Every person and face of the store as one object, crops inline (for a message or a small DB). */
export async function exportFaces(store: Store): Promise<{ data: FaceExport; report: TransferReport }> {
  const report: TransferReport = { people: 0, faces: 0 };
  const people: ExportedPerson[] = [];
  for await (const person of exportedPeople(store, async (crop) => ({ crop: crop.toString('base64') }), report)) people.push(person);
  return { data: { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: Date.now(), people }, report };
}

/**
 * Writes `faces.json` and `crops/<n>.jpg` into `dir`. The manifest is
 * streamed person by person (never one huge string) and renamed into place
 * when complete.
 */
export async function exportFacesToFolder(store: Store, dir: string): Promise<TransferReport> {
  await fs.promises.mkdir(path.join(dir, 'crops'), { recursive: true });
  const manifest = path.join(dir, MANIFEST);
  const partial = `${manifest}.partial`;
  const out = fs.createWriteStream(partial);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const report: TransferReport = { people: 0, faces: 0 };
  try {
    await write(`{"format":${JSON.stringify(EXPORT_FORMAT)},"version":${EXPORT_VERSION},"exportedAt":${Date.now()},"people":[\n`);
    const keepCrop = async (crop: Buffer, faceNumber: number) => {
      const cropFile = `crops/${faceNumber}.jpg`;
      await fs.promises.writeFile(path.join(dir, cropFile), crop);
      return { cropFile };
    };
    let separator = '';
    for await (const person of exportedPeople(store, keepCrop, report)) {
      await write(`${separator}${JSON.stringify(person)}`);
      separator = ',\n';
    }
    await write('\n]}\n');
    out.end();
    await finished(out);
  } catch (err) {
    out.destroy();
    await fs.promises.rm(partial, { force: true });
    throw err;
  }
  await fs.promises.rename(partial, manifest);
  return report;
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
export async function importFaces(store: Store, data: unknown): Promise<TransferReport> {
  checkExport(data);
  // Validate everything before writing anything, a slice at a time.
  const people: { name: string; list: PersonList; notes: string; faces: NewFace[] }[] = [];
  for (const [i, person] of data.people.entries()) {
    people.push({
      name: normalizeName(person.name),
      list: parseList(person.list ?? 'known'),
      notes: typeof person.notes === 'string' ? person.notes : '',
      faces: (person.faces ?? []).map((face): NewFace => {
        const embedding = blobToEmbedding(Buffer.from(String(face.embedding), 'base64'));
        if (embedding.length !== face.dim) throw new PorchlightError('BAD_INPUT', `a face of ${person.name} has ${embedding.length} values, not ${face.dim}`);
        return {
          kind: face.kind,
          model: face.model,
          embedding,
          quality: face.quality ?? null,
          crop: face.crop ? Buffer.from(face.crop, 'base64') : null,
          source: face.source ?? null,
          metadata: face.metadata ?? {},
          createdAt: face.createdAt,
        };
      }),
    });
    if (i % 100 === 99) await yieldToEventLoop();
  }

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
