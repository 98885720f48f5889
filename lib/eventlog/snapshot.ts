import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PorchlightError } from '../errors';
import { cropJpeg, decodeImage, DEFAULT_MAX_PIXELS } from '../image/decode';
import { FACE_CROP_SIZE } from '../image/box';
import type { Box } from '../image/types';

/**
 * Event ids that may name a file: ULIDs from `newEventId` and simple ids such
 * as `evt-42`. Dots, slashes, percent signs and anything else are refused, so
 * no id can step out of the snapshot folder.
 */
const FILE_SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isFileSafeEventId(id: unknown): id is string {
  return typeof id === 'string' && FILE_SAFE_ID.test(id);
}

/** A face to draw on the snapshot. */
export interface AnnotatedFace {
  box: Box;
  /** The name drawn above the box ("unknown" for an unmatched face); none for a face not matched at all. */
  label?: string;
  list?: string | null;
}

export interface EventImages {
  snapshot: Buffer;
  thumbnail: Buffer;
  /** A JPEG crop per face, in the order given. */
  crops: Buffer[];
}

export const THUMBNAIL_SIDE = 320;

const COLOURS: Record<string, string> = { known: '#2e7d32', blacklist: '#c62828', blacklisted: '#c62828', unknown: '#f9a825' };
const UNMATCHED_COLOUR = '#1e88e5';

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** The overlay: a box per face and its name on a filled tag, sized to the frame. */
export function overlaySvg(width: number, height: number, faces: AnnotatedFace[]): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 200));
  const fontSize = Math.max(12, Math.round(Math.min(width, height) / 28));
  const shapes = faces.map(({ box, label, list }) => {
    const colour = label === undefined ? UNMATCHED_COLOUR : (COLOURS[list ?? 'unknown'] ?? COLOURS.unknown);
    const rect = `<rect x="${box.x.toFixed(1)}" y="${box.y.toFixed(1)}" width="${box.width.toFixed(1)}" height="${box.height.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>`;
    if (!label) return rect;
    const text = label.length > 40 ? `${label.slice(0, 39)}…` : label;
    const tagHeight = Math.round(fontSize * 1.4);
    const tagWidth = Math.round(text.length * fontSize * 0.62 + fontSize);
    // The tag sits above the box, or inside it when the box touches the top edge.
    const tagY = box.y >= tagHeight ? box.y - tagHeight : box.y;
    return (
      rect +
      `<rect x="${box.x.toFixed(1)}" y="${tagY.toFixed(1)}" width="${tagWidth}" height="${tagHeight}" fill="${colour}"/>` +
      `<text x="${(box.x + fontSize / 2).toFixed(1)}" y="${(tagY + fontSize * 1.05).toFixed(1)}" font-family="sans-serif" font-size="${fontSize}" fill="#ffffff">${escapeXml(text)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}

/**
 * Draws the faces on the frame and makes the thumbnail and the face crops,
 * decoding the frame once (EXIF orientation applied, as the detector saw it).
 * All of it runs in libvips threads, off Node-RED's loop.
 */
export async function renderEventImages(frame: Uint8Array, faces: AnnotatedFace[], maxPixels = DEFAULT_MAX_PIXELS): Promise<EventImages> {
  const { image } = await decodeImage(frame, { maxPixels });
  const raw = { raw: { width: image.width, height: image.height, channels: image.channels } };
  const overlay = { input: Buffer.from(overlaySvg(image.width, image.height, faces)), top: 0, left: 0 };
  const annotated = await sharp(image.data, raw).composite([overlay]).raw().toBuffer({ resolveWithObject: true });
  const drawn = () => sharp(annotated.data, { raw: { width: annotated.info.width, height: annotated.info.height, channels: annotated.info.channels } });
  const [snapshot, thumbnail, crops] = await Promise.all([
    drawn().jpeg({ quality: 85 }).toBuffer(),
    drawn().resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 75 }).toBuffer(),
    Promise.all(faces.map((face) => cropJpeg(image, face.box, { size: FACE_CROP_SIZE }))),
  ]);
  return { snapshot, thumbnail, crops };
}

export type SnapshotKind = 'snapshot' | 'thumbnail';

/** The event snapshots on disk: `<dir>/<event id>.jpg` and `<dir>/<event id>.thumb.jpg`, nothing else. */
export class SnapshotFolder {
  constructor(readonly dir: string) {}

  pathOf(id: string, kind: SnapshotKind): string {
    if (!isFileSafeEventId(id)) throw new PorchlightError('BAD_INPUT', 'event id not usable as a file name');
    return path.join(this.dir, kind === 'snapshot' ? `${id}.jpg` : `${id}.thumb.jpg`);
  }

  /** Writes both files (each through a temporary file and a rename, so a crash never leaves half a JPEG); returns their bytes. */
  async save(id: string, images: Pick<EventImages, 'snapshot' | 'thumbnail'>): Promise<number> {
    await fs.mkdir(this.dir, { recursive: true });
    const write = async (kind: SnapshotKind, bytes: Buffer) => {
      const target = this.pathOf(id, kind);
      const temporary = `${target}.${process.pid}.tmp`;
      await fs.writeFile(temporary, bytes);
      await fs.rename(temporary, target);
    };
    await Promise.all([write('snapshot', images.snapshot), write('thumbnail', images.thumbnail)]);
    return images.snapshot.length + images.thumbnail.length;
  }

  async read(id: string, kind: SnapshotKind): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.pathOf(id, kind));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    if (!isFileSafeEventId(id)) return;
    await Promise.all(
      (['snapshot', 'thumbnail'] as const).map((kind) =>
        fs.unlink(this.pathOf(id, kind)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        }),
      ),
    );
  }
}
