/** The bodies of an enrolment request (`POST /porchlight/faces`): JSON with base64 images, or multipart/form-data. */
import Busboy from 'busboy';
import type { Request } from 'express';
import { PorchlightError } from '../../lib/errors';
import type { EnrollImage } from '../../lib/engine';

/** Largest multipart upload (all images together); JSON bodies are limited by Node-RED's apiMaxLength. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** Most images in one enrolment request, multipart or JSON: bulk imports go through the face-db node's importFolder. */
export const MAX_UPLOAD_FILES = 10;
/** Largest text field of a multipart enrolment (name, list, notes). */
const MAX_FIELD_BYTES = 64 * 1024;

export interface EnrollBody {
  name?: unknown;
  list?: unknown;
  notes?: unknown;
  images: EnrollImage[];
}

function decodeBase64Image(value: unknown, index: number): EnrollImage {
  if (typeof value !== 'string' || value.length === 0) throw new PorchlightError('BAD_INPUT', 'image must be a base64 string');
  const base64 = value.replace(/^data:[^;,]*;base64,/, '');
  return { image: Buffer.from(base64, 'base64'), source: `http:${index}` };
}

/**
 * A JSON enrolment: capped like a multipart one (MAX_UPLOAD_FILES images,
 * MAX_UPLOAD_BYTES decoded in all, 413 beyond), counted before any image is
 * decoded, so one request cannot queue hundreds of embeddings ahead of the doorbell.
 */
export function fromJson(body: Record<string, unknown>): EnrollBody {
  const given = body.images ?? (body.image === undefined ? [] : [body.image]);
  if (!Array.isArray(given)) throw new PorchlightError('BAD_INPUT', 'images must be an array of base64 strings');
  if (given.length > MAX_UPLOAD_FILES) {
    throw new PorchlightError('IMAGE_TOO_LARGE', `at most ${MAX_UPLOAD_FILES} images per request, got ${given.length}; import a folder with the face-db node for more`);
  }
  const images = given.map(decodeBase64Image);
  const total = images.reduce((sum, { image }) => sum + image.length, 0);
  if (total > MAX_UPLOAD_BYTES) throw new PorchlightError('IMAGE_TOO_LARGE', `upload over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`);
  return { name: body.name, list: body.list, notes: body.notes, images };
}

/**
 * multipart/form-data: fields name, list, notes; one or more image files, within MAX_UPLOAD_BYTES in all.
 * Every stream has an error listener: a body cut short (no closing boundary), a
 * client that goes away mid-upload or a malformed part rejects with BAD_INPUT
 * (400), never an unhandled 'error' event that would end Node-RED.
 */
export function fromMultipart(req: Request): Promise<EnrollBody> {
  return new Promise((resolve, reject) => {
    let busboy: Busboy.Busboy;
    try {
      busboy = Busboy({ headers: req.headers, limits: { fileSize: MAX_UPLOAD_BYTES, files: MAX_UPLOAD_FILES, fields: 20, fieldSize: MAX_FIELD_BYTES } });
    } catch (err) {
      reject(new PorchlightError('BAD_INPUT', (err as Error).message));
      return;
    }
    const result: EnrollBody = { images: [] };
    let total = 0;
    let failed: PorchlightError | undefined;
    let settled = false;
    const finish = (err?: PorchlightError) => {
      if (settled) return;
      settled = true;
      if (err) {
        req.unpipe(busboy);
        req.resume(); // the rest of the body, if any, is read and dropped so the answer can go out
        reject(err);
      } else resolve(result);
    };
    const broken = (err: Error) => finish(new PorchlightError('BAD_INPUT', `bad multipart body: ${err.message}`));
    busboy.on('field', (field, value, info) => {
      if (info.valueTruncated) failed ??= new PorchlightError('BAD_INPUT', `field ${field} is over ${MAX_FIELD_BYTES} bytes`);
      else if (field === 'name' || field === 'list' || field === 'notes') result[field] = value;
    });
    busboy.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      let ended = false;
      stream.on('error', broken);
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > MAX_UPLOAD_BYTES) failed ??= new PorchlightError('IMAGE_TOO_LARGE', `upload over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`);
        else chunks.push(chunk);
      });
      stream.on('limit', () => {
        failed ??= new PorchlightError('IMAGE_TOO_LARGE', `upload over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`);
      });
      stream.on('end', () => (ended = true));
      stream.on('close', () => {
        // Only a file read to its end is an image; the uploaded file name is kept as data only (the face's source), never used as a path.
        if (ended) result.images.push({ image: Buffer.concat(chunks), source: `http:${info.filename ?? 'upload'}` });
      });
    });
    busboy.on('filesLimit', () => {
      failed ??= new PorchlightError('IMAGE_TOO_LARGE', `at most ${MAX_UPLOAD_FILES} images per request`);
    });
    busboy.on('fieldsLimit', () => {
      failed ??= new PorchlightError('BAD_INPUT', 'too many fields');
    });
    busboy.on('error', broken);
    busboy.on('close', () => finish(failed));
    req.on('error', broken);
    req.on('aborted', () => finish(new PorchlightError('BAD_INPUT', 'the upload was aborted')));
    req.pipe(busboy);
  });
}
