/** The public API of lib/models: what code outside lib/ may import from this area. */
export { installPack, packStatus } from './install';
export { bundledModelPath, DEFAULT_PACK } from './packs';
