/**
 * The demo's simulated camera and its cast, cut at first start from the six
 * group photos that `@vladmandic/face-api` ships in `demo/` (MIT licence, like
 * the rest of that package, so Porchlight may redistribute them through it).
 *
 * Each scene is a 1280x720 "doorstep" frame with one person's head in front of
 * it (mirrored and rescaled, so it is not the very image that was enrolled);
 * each enrolment photo is the same head on a plain backdrop. The people are
 * picked by the face detector at run time (the largest face of a chosen photo),
 * not by coordinates, and every image is checked for its number of faces.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { acquireSharedPool, detectFaces, type WorkerPool } from '../lib/engine';
import type { Box } from '../lib/image';

export const FACE_API_DEMO_DIR = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');

/** Who can stand at the simulated door. `list` says how the demo enrols them (none: a stranger). */
export const CAST = [
  { key: 'alice', name: 'Alice', list: 'known', photo: 'sample6.jpg' },
  { key: 'mallory', name: 'Mallory', list: 'blacklist', photo: 'sample4.jpg' },
  { key: 'stranger', name: 'a stranger', list: null, photo: 'sample3.jpg' },
] as const;

export type SceneKey = (typeof CAST)[number]['key'] | 'nobody';

export interface DemoMedia {
  dir: string;
  /** The frame the simulated camera sends while `key` is at the door. */
  scene(key: SceneKey): string;
  /** The photo the demo enrols for a cast member. */
  enrolment(key: SceneKey): string;
}

const SCENE_WIDTH = 1280;
const SCENE_HEIGHT = 720;
const MEDIA_VERSION = '1';

function demoMedia(dir: string): DemoMedia {
  return {
    dir,
    scene: (key) => path.join(dir, 'scenes', `${key}.jpg`),
    enrolment: (key) => path.join(dir, 'enrol', `${key}.jpg`),
  };
}

/** The region around a face holding the head and a little of the shoulders, kept inside the photo. */
function headRegion(face: Box, width: number, height: number): Box {
  const regionWidth = Math.min(width, Math.round(face.width * 1.5));
  const regionHeight = Math.min(height, Math.round(face.height * 1.9));
  const x = Math.round(Math.min(Math.max(0, face.x + face.width / 2 - regionWidth / 2), width - regionWidth));
  const y = Math.round(Math.min(Math.max(0, face.y + face.height * 0.55 - regionHeight / 2), height - regionHeight));
  return { x, y, width: regionWidth, height: regionHeight };
}

/**
 * One person's head, cut out of a group photo with a soft oval so that the
 * neighbours' faces do not come along, scaled to `headHeight` pixels.
 */
async function headCutout(photo: string, face: Box, size: { width: number; height: number }, headHeight: number, mirror: boolean): Promise<Buffer> {
  const region = headRegion(face, size.width, size.height);
  const scale = headHeight / region.height;
  const width = Math.round(region.width * scale);
  let head = sharp(photo).rotate().extract({ left: region.x, top: region.y, width: region.width, height: region.height }).resize(width, headHeight);
  if (mirror) head = head.flop();
  const oval = Buffer.from(
    `<svg width="${width}" height="${headHeight}"><ellipse cx="${width / 2}" cy="${headHeight / 2}" rx="${width * 0.46}" ry="${headHeight * 0.48}" fill="#fff"/></svg>`,
  );
  const mask = await sharp(oval).blur(Math.max(1, width / 40)).png().toBuffer();
  return head.ensureAlpha().composite([{ input: mask, blend: 'dest-in' }]).png().toBuffer();
}

async function onBackground(background: Buffer, cutout: Buffer, top: number): Promise<Buffer> {
  const { width = 0 } = await sharp(cutout).metadata();
  const { width: backgroundWidth = 0 } = await sharp(background).metadata();
  return sharp(background)
    .composite([{ input: cutout, left: Math.round((backgroundWidth - width) / 2), top }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** Checks that an image the demo made holds exactly `expected` faces, so every verdict path is what it claims. */
async function expectFaces(pool: WorkerPool, image: Buffer, expected: number, what: string): Promise<void> {
  const { faces } = await detectFaces(pool, image, { options: { landmarks: false } });
  if (faces.length !== expected) throw new Error(`demo media: ${what} shows ${faces.length} faces, expected ${expected}`);
}

/**
 * Writes the scenes and enrolment photos into `dir` (once; later starts reuse
 * them) and returns where they are.
 */
export async function prepareDemoMedia(dir: string): Promise<DemoMedia> {
  const media = demoMedia(dir);
  const stamp = path.join(dir, 'version');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === MEDIA_VERSION) return media;
  fs.mkdirSync(path.join(dir, 'scenes'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'enrol'), { recursive: true });

  const lease = acquireSharedPool({ threads: 1 });
  try {
    const doorstep = await emptyDoorstep();
    await expectFaces(lease.pool, doorstep, 0, 'the empty doorstep');
    fs.writeFileSync(media.scene('nobody'), doorstep);
    const plainBackdrop = await sharp({ create: { width: 640, height: 640, channels: 3, background: '#c9c4bb' } }).png().toBuffer();

    for (const person of CAST) {
      const photo = path.join(FACE_API_DEMO_DIR, person.photo);
      const { faces, width, height } = await detectFaces(lease.pool, fs.readFileSync(photo), { options: { landmarks: false } });
      if (faces.length === 0) throw new Error(`demo media: no face found in ${photo}`);
      const face = [...faces].sort((a, b) => b.box.height - a.box.height)[0].box;
      const scene = await onBackground(doorstep, await headCutout(photo, face, { width, height }, 470, true), 150);
      await expectFaces(lease.pool, scene, 1, `the scene of ${person.name}`);
      fs.writeFileSync(media.scene(person.key), scene);
      const portrait = await onBackground(plainBackdrop, await headCutout(photo, face, { width, height }, 400, false), 120);
      await expectFaces(lease.pool, portrait, 1, `the enrolment photo of ${person.name}`);
      fs.writeFileSync(media.enrolment(person.key), portrait);
    }
  } finally {
    await lease.release();
  }
  fs.writeFileSync(stamp, MEDIA_VERSION);
  return media;
}

/** "Nobody at the door": a blurred, faceless corner of one of the photos. */
async function emptyDoorstep(): Promise<Buffer> {
  return sharp(path.join(FACE_API_DEMO_DIR, 'sample5.jpg'))
    .extract({ left: 0, top: 0, width: 480, height: 270 })
    .resize(SCENE_WIDTH, SCENE_HEIGHT)
    .blur(3)
    .jpeg({ quality: 85 })
    .toBuffer();
}

if (require.main === module) {
  const dir = process.argv[2] ?? path.resolve('demo-media');
  prepareDemoMedia(dir).then(
    (media) => console.log(`demo media in ${media.dir}`),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
