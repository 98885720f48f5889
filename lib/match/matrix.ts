import { createDotKernel, hasSimd, type DotKernel } from './wasm-dot';

/**
 * Rows of one embedding model stored contiguously, row `r` at floats
 * [r * stride, r * stride + dim), zero-padded to `stride` (a multiple of 8).
 * `dotAll` answers the query's dot product with every row in one pass.
 */
export interface EmbeddingMatrix {
  readonly dim: number;
  readonly kernel: 'wasm-simd' | 'js';
  /** Makes room for `rows` rows, keeping the ones already there. */
  reserve(rows: number): void;
  setRow(row: number, values: Float32Array): void;
  copyRow(from: number, to: number): void;
  /** Dot products of `query` with rows 0..rows-1; valid until the next call on this matrix. */
  dotAll(query: Float32Array, rows: number): Float32Array;
}

const paddedStride = (dim: number) => Math.ceil(dim / 8) * 8;

/** Rows in WebAssembly memory, scanned by the SIMD kernel. Layout: [query | rows... | dot products]. */
class WasmMatrix implements EmbeddingMatrix {
  readonly kernel = 'wasm-simd';
  private readonly stride: number;
  private readonly rowsOffset: number;
  private capacity = 0;
  private floats: Float32Array;

  constructor(readonly dim: number, private readonly wasm: DotKernel) {
    this.stride = paddedStride(dim);
    this.rowsOffset = this.stride * 4;
    this.floats = new Float32Array(wasm.memory.buffer);
  }

  /** Growing the memory detaches the old ArrayBuffer: views are refreshed here. */
  private view(): Float32Array {
    if (this.floats.buffer !== this.wasm.memory.buffer) this.floats = new Float32Array(this.wasm.memory.buffer);
    return this.floats;
  }

  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const needed = this.rowsOffset + rows * this.stride * 4 + rows * 4;
    const missing = needed - this.wasm.memory.buffer.byteLength;
    if (missing > 0) this.wasm.memory.grow(Math.ceil(missing / 65536));
    this.capacity = rows;
  }

  setRow(row: number, values: Float32Array): void {
    const start = this.rowsOffset / 4 + row * this.stride;
    const floats = this.view();
    floats.set(values.subarray(0, this.dim), start);
    floats.fill(0, start + this.dim, start + this.stride);
  }

  copyRow(from: number, to: number): void {
    const base = this.rowsOffset / 4;
    this.view().copyWithin(base + to * this.stride, base + from * this.stride, base + (from + 1) * this.stride);
  }

  dotAll(query: Float32Array, rows: number): Float32Array {
    const floats = this.view();
    floats.set(query.subarray(0, this.dim), 0);
    floats.fill(0, this.dim, this.stride);
    const out = this.rowsOffset + this.capacity * this.stride * 4;
    this.wasm.dots(this.rowsOffset, 0, out, rows, this.stride * 4);
    return new Float32Array(this.wasm.memory.buffer, out, rows);
  }
}

/** The same in a plain Float32Array, for runtimes without WebAssembly SIMD. */
class JsMatrix implements EmbeddingMatrix {
  readonly kernel = 'js';
  private readonly stride: number;
  private rows = new Float32Array(0);
  private dots = new Float32Array(0);

  constructor(readonly dim: number) {
    this.stride = paddedStride(dim);
  }

  reserve(rows: number): void {
    if (rows * this.stride <= this.rows.length) return;
    const grown = new Float32Array(rows * this.stride);
    grown.set(this.rows);
    this.rows = grown;
    this.dots = new Float32Array(rows);
  }

  setRow(row: number, values: Float32Array): void {
    const start = row * this.stride;
    this.rows.set(values.subarray(0, this.dim), start);
    this.rows.fill(0, start + this.dim, start + this.stride);
  }

  copyRow(from: number, to: number): void {
    this.rows.copyWithin(to * this.stride, from * this.stride, (from + 1) * this.stride);
  }

  dotAll(query: Float32Array, rows: number): Float32Array {
    const { stride, dim } = this;
    const matrix = this.rows;
    for (let r = 0, offset = 0; r < rows; r++, offset += stride) {
      let sum = 0;
      for (let j = 0; j < dim; j++) sum += matrix[offset + j] * query[j];
      this.dots[r] = sum;
    }
    return this.dots.subarray(0, rows);
  }
}

export type KernelChoice = 'auto' | 'js';

/** Which scan `createMatrix(…, 'auto')` gives in this runtime. */
export function availableKernel(): EmbeddingMatrix['kernel'] {
  return hasSimd() ? 'wasm-simd' : 'js';
}

export function createMatrix(dim: number, choice: KernelChoice = 'auto'): EmbeddingMatrix {
  const wasm = choice === 'auto' ? createDotKernel() : null;
  return wasm ? new WasmMatrix(dim, wasm) : new JsMatrix(dim);
}
