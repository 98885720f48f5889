import { ProtoWriter } from './protobuf';
import { PorchlightError } from '../../errors';

/** onnx.proto's TensorProto.DataType values used here. */
const FLOAT = 1;
const INT64 = 7;
/** onnx.proto's AttributeProto.AttributeType values used here. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** TensorFlow's 'same' padding [before, after]: the output is ceil(in / stride), any odd pixel goes after. */
export function tfSamePads(side: number, kernel: number, stride: number): [number, number] {
  const total = Math.max((Math.ceil(side / stride) - 1) * stride + kernel - side, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export type Attribute = number | number[] | { float: number };

/** A dimension of a graph input or output: a size, or a name for a free one (the batch). */
export type GraphDim = number | string;

/**
 * Builds an ONNX model (opset 13) node by node: initializers hold the
 * weights, `node()` adds an operator and returns its output name, so a
 * network reads top to bottom like the code that runs it in tfjs.
 */
export class GraphBuilder {
  private readonly nodes: ProtoWriter[] = [];
  private readonly initializers: ProtoWriter[] = [];
  private readonly inputs: ProtoWriter[] = [];
  private readonly outputs: ProtoWriter[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  private valueInfo(name: string, shape: readonly GraphDim[]): ProtoWriter {
    const dims = new ProtoWriter();
    for (const d of shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.int(1, d);
      else dim.string(2, d);
      dims.message(1, dim);
    }
    const tensorType = new ProtoWriter().int(1, FLOAT).message(2, dims);
    return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
  }

  input(name: string, shape: readonly GraphDim[]): string {
    this.inputs.push(this.valueInfo(name, shape));
    return name;
  }

  output(name: string, shape: readonly GraphDim[]): void {
    this.outputs.push(this.valueInfo(name, shape));
  }

  /** A float32 constant (weights); returns its name. */
  weight(prefix: string, dims: readonly number[], values: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new PorchlightError('MODEL_UNAVAILABLE', `${prefix}: ${values.length} values for shape ${dims.join('x')}`);
    const name = this.fresh(prefix);
    const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    this.initializers.push(new ProtoWriter().ints(1, dims).int(2, FLOAT).string(8, name).bytes(9, raw));
    return name;
  }

  /** An int64 constant (shapes, pads); returns its name. */
  int64s(prefix: string, values: readonly number[]): string {
    const name = this.fresh(prefix);
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push(new ProtoWriter().ints(1, [values.length]).int(2, INT64).string(8, name).bytes(9, raw));
    return name;
  }

  /** Adds an operator; returns the name of its (single) output. */
  node(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, outputName?: string): string {
    const output = outputName ?? this.fresh(opType.toLowerCase());
    const node = new ProtoWriter();
    for (const input of inputs) node.string(1, input);
    node.string(2, output).string(3, output).string(4, opType);
    for (const [key, value] of Object.entries(attributes)) {
      const attribute = new ProtoWriter().string(1, key);
      if (Array.isArray(value)) attribute.ints(8, value).int(20, ATTR_INTS);
      else if (typeof value === 'number') attribute.int(3, value).int(20, ATTR_INT);
      else attribute.float(2, value.float).int(20, ATTR_FLOAT);
      node.message(5, attribute);
    }
    this.nodes.push(node);
    return output;
  }

  /** The serialised ModelProto. */
  build(producer: string): Uint8Array {
    const graph = new ProtoWriter();
    for (const node of this.nodes) graph.message(1, node);
    graph.string(2, this.name);
    for (const init of this.initializers) graph.message(5, init);
    for (const input of this.inputs) graph.message(11, input);
    for (const output of this.outputs) graph.message(12, output);
    const opset = new ProtoWriter().string(1, '').int(2, 13);
    return new ProtoWriter().int(1, 8).string(2, producer).message(7, graph).message(8, opset).finish();
  }
}
