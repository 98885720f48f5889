/** The public API of lib/logging: what code outside lib/ may import from this area. */
export { attachStructuredLog, structuredLogEnabled } from './structured';
