/** The public API of lib/image: what code outside lib/ may import from this area. */
export { FACE_CROP_SIZE, iou } from './box';
export { cropJpeg, decodeImage, DEFAULT_MAX_PIXELS } from './decode';
export type { Box, RawImage } from './types';
