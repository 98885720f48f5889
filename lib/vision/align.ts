import type { Point, RawImage } from '../image/types';
import { PorchlightError } from '../errors';

/**
 * Face alignment for the 128-d ResNet descriptor. The network was trained on
 * dlib's "face chips": the 68 landmarks are fitted by a similarity transform
 * (rotation, uniform scale, shift) onto a mean face shape, and the image is
 * resampled into a 150x150 square with 25 % padding around that shape. A
 * plain box crop leaves the face tilted and off-centre, which costs the
 * descriptor accuracy; this reproduces the chip geometry the network expects.
 */

/**
 * Mean positions of landmarks 17..67 of the iBUG 68-point scheme, in a unit
 * square, as published with dlib's `get_face_chip_details` (Boost Software
 * Licence). Row i is landmark 17 + i.
 */
const MEAN_FACE_17_TO_67: ReadonlyArray<readonly [number, number]> = [
  [0.000213256, 0.106454], [0.0752622, 0.038915], [0.18113, 0.0187482], [0.29077, 0.0344891], [0.393397, 0.0773906],
  [0.586856, 0.0773906], [0.689483, 0.0344891], [0.799124, 0.0187482], [0.904991, 0.038915], [0.98004, 0.106454],
  [0.490127, 0.203352], [0.490127, 0.307009], [0.490127, 0.409805], [0.490127, 0.515625], [0.36688, 0.587326],
  [0.426036, 0.609345], [0.490127, 0.628106], [0.554217, 0.609345], [0.613373, 0.587326], [0.121737, 0.216423],
  [0.187122, 0.178758], [0.265825, 0.179852], [0.334606, 0.231733], [0.260918, 0.245099], [0.182743, 0.244077],
  [0.645647, 0.231733], [0.714428, 0.179852], [0.793132, 0.178758], [0.858516, 0.216423], [0.79751, 0.244077],
  [0.719335, 0.245099], [0.254149, 0.780233], [0.340985, 0.745405], [0.428858, 0.727388], [0.490127, 0.742578],
  [0.551395, 0.727388], [0.639268, 0.745405], [0.726104, 0.780233], [0.642159, 0.864805], [0.556721, 0.902192],
  [0.490127, 0.909281], [0.423532, 0.902192], [0.338094, 0.864805], [0.290379, 0.784792], [0.428096, 0.778746],
  [0.490127, 0.785343], [0.552157, 0.778746], [0.689874, 0.784792], [0.553364, 0.824182], [0.490127, 0.831803],
  [0.42689, 0.824182],
];

/**
 * The landmarks the fit uses: nose, eyes and the outer and upper lips. The
 * jaw line, eyebrows and lower lip move with expression and head shape, so
 * they are left out (as dlib does).
 */
const FIT_LANDMARKS: readonly number[] = Array.from({ length: 68 - 27 }, (_, i) => 27 + i).filter(
  (i) => !(i >= 55 && i <= 59) && !(i >= 65 && i <= 67),
);

export interface ChipGeometry {
  /** Side of the square chip in pixels. */
  size: number;
  /** Margin around the mean shape, as a fraction of its size on each side. */
  padding: number;
}

/** The geometry of the chips the face-api / dlib ResNet descriptor was trained on. */
export const RESNET_CHIP: ChipGeometry = { size: 150, padding: 0.25 };

/** Maps chip pixels to image pixels: image = [a -b; b a] * chip + [tx, ty]. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** Image pixels per chip pixel. */
export function similarityScale(t: Similarity): number {
  return Math.hypot(t.a, t.b);
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

/**
 * Least-squares similarity transform taking `from` onto `to` (the 2-D case of
 * Umeyama's method: centre both sets, then rotation and scale in closed form).
 */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  if (from.length !== to.length || from.length < 2) throw new PorchlightError('BAD_INPUT', 'fitSimilarity needs two equally long lists of at least 2 points');
  const n = from.length;
  let fx = 0, fy = 0, tx = 0, ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i].x; fy += from[i].y; tx += to[i].x; ty += to[i].y;
  }
  fx /= n; fy /= n; tx /= n; ty /= n;
  let dot = 0, cross = 0, spread = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i].x - fx, py = from[i].y - fy;
    const qx = to[i].x - tx, qy = to[i].y - ty;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    spread += px * px + py * py;
  }
  if (spread === 0) throw new PorchlightError('BAD_INPUT', 'fitSimilarity: the source points are all the same');
  const a = dot / spread;
  const b = cross / spread;
  return { a, b, tx: tx - (a * fx - b * fy), ty: ty - (b * fx + a * fy) };
}

/** Where the fitted landmarks sit in a chip of the given geometry. */
export function chipTemplate(geometry: ChipGeometry = RESNET_CHIP): Point[] {
  const { size, padding } = geometry;
  return FIT_LANDMARKS.map((i) => {
    const [x, y] = MEAN_FACE_17_TO_67[i - 17];
    return { x: ((padding + x) / (2 * padding + 1)) * size, y: ((padding + y) / (2 * padding + 1)) * size };
  });
}

/** The transform from chip pixels to image pixels for a face's 68 landmarks. */
export function chipTransform(landmarks: readonly Point[], geometry: ChipGeometry = RESNET_CHIP): Similarity {
  if (landmarks.length !== 68) throw new PorchlightError('BAD_INPUT', `alignment needs 68 landmarks, got ${landmarks.length}`);
  return fitSimilarity(chipTemplate(geometry), FIT_LANDMARKS.map((i) => landmarks[i]));
}

/**
 * Resamples the chip out of an RGB image. Each chip pixel is the bilinear
 * sample at its centre; when the face is much larger than the chip, several
 * samples per pixel are averaged so that the shrink does not alias. Pixels
 * falling outside the image are black, as in the chips the network learnt from.
 */
export function extractChip(image: RawImage, transform: Similarity, size: number): RawImage {
  if (image.channels !== 3) throw new PorchlightError('BAD_INPUT', 'extractChip expects RGB pixels');
  const out = new Uint8Array(size * size * 3);
  const steps = Math.max(1, Math.ceil(similarityScale(transform) - 0.25));
  const sum = [0, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      sum[0] = sum[1] = sum[2] = 0;
      for (let sy = 0; sy < steps; sy++) {
        for (let sx = 0; sx < steps; sx++) {
          const cx = x + (sx + 0.5) / steps;
          const cy = y + (sy + 0.5) / steps;
          // Continuous image coordinates, then to the pixel-centre grid.
          const ix = transform.a * cx - transform.b * cy + transform.tx - 0.5;
          const iy = transform.b * cx + transform.a * cy + transform.ty - 0.5;
          addBilinear(image, ix, iy, sum);
        }
      }
      const o = (y * size + x) * 3;
      const samples = steps * steps;
      out[o] = Math.round(sum[0] / samples);
      out[o + 1] = Math.round(sum[1] / samples);
      out[o + 2] = Math.round(sum[2] / samples);
    }
  }
  return { data: out, width: size, height: size, channels: 3 };
}

function addBilinear(image: RawImage, x: number, y: number, sum: number[]): void {
  const { width, height, data } = image;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  for (let dy = 0; dy <= 1; dy++) {
    const py = y0 + dy;
    if (py < 0 || py >= height) continue;
    const wy = dy === 0 ? 1 - fy : fy;
    for (let dx = 0; dx <= 1; dx++) {
      const px = x0 + dx;
      if (px < 0 || px >= width) continue;
      const w = wy * (dx === 0 ? 1 - fx : fx);
      const i = (py * width + px) * 3;
      sum[0] += w * data[i];
      sum[1] += w * data[i + 1];
      sum[2] += w * data[i + 2];
    }
  }
}

/** Aligns one face: fits its landmarks to the template and cuts the chip. */
export function alignFace(image: RawImage, landmarks: readonly Point[], geometry: ChipGeometry = RESNET_CHIP): RawImage {
  return extractChip(image, chipTransform(landmarks, geometry), geometry.size);
}

/** The mirror image (left-right), for flip-averaged descriptors. */
export function mirror(image: RawImage): RawImage {
  const { width, height, channels, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * channels;
      const to = (y * width + (width - 1 - x)) * channels;
      for (let c = 0; c < channels; c++) out[to + c] = data[from + c];
    }
  }
  return { data: out, width, height, channels };
}
