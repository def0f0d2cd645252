// ONNX export: the model as a standard ONNX graph any ONNX runtime can serve.
//
//   input [batch, inputs]
//     -> (normalisation: folded into the first Gemm, or Sub + Mul when not folded)
//     -> per layer: Gemm(x, layers.L.weight [fanIn, units], layers.L.bias [units]) -> activation
//     -> output [batch, outputs]   (probabilities for sigmoid / softmax outputs, like predict)
//
// Encoded with protobufjs from a descriptor of the subset of onnx.proto we write (field numbers
// as in onnx/onnx.proto, IR version 7, opset 13). docs/FORMAT.md describes the graph.
import { createRequire } from 'node:module';

import protobuf from 'protobufjs/light.js';

import type { ModelSnapshot } from './format.js';
import { assertBoolean, assertKnownKeys, assertObject } from './validate.js';

/** The default-domain ONNX opset the exported graph imports. */
export const ONNX_OPSET = 13;
/** ONNX IR version 7 is the one that goes with opset 13. */
const IR_VERSION = 7;

export interface OnnxExportOptions {
  /**
   * Fold the input normalisation into the first Gemm's weights and bias (default true): one
   * operator fewer. With false, the graph standardises explicitly (Sub, Mul), which keeps full
   * precision when input means are large compared with their standard deviations.
   */
  foldNormalization?: boolean;
}

// A float32 tensor in ONNX is data_type 1; attribute types FLOAT = 1, INT = 2.
const FLOAT = 1;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

const root = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } },
        },
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'int32', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: {
          fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: { type: 'TypeProtoTensor', id: 1 } },
        },
        TypeProtoTensor: {
          fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'TensorShapeDimension', id: 1 } },
        },
        TensorShapeDimension: {
          oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
          fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
        },
      },
    },
  },
});
const ModelProto = root.lookupType('onnx.ModelProto');

function version(): string {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function tensor(name: string, dims: number[], data: Float32Array): Record<string, unknown> {
  // raw_data is little-endian IEEE 754, as our model files are.
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return { name, dims, dataType: FLOAT, rawData: bytes };
}

function valueInfo(name: string, batch: string, width: number): Record<string, unknown> {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: batch }, { dimValue: width }] } } },
  };
}

/** The bytes of an ONNX model computing what `predict` computes for this snapshot. */
export function modelToONNX(s: ModelSnapshot, options: OnnxExportOptions = {}): Uint8Array {
  assertObject(options, 'options');
  assertKnownKeys(options, 'options', ['foldNormalization']);
  const fold = options.foldNormalization === undefined ? true : assertBoolean(options.foldNormalization, 'options.foldNormalization');
  const nodes: Record<string, unknown>[] = [];
  const initializers: Record<string, unknown>[] = [];
  let current = 'input';
  // The native model standardises as (x - mean) * inv_std with inv_std = 1 / std in float32;
  // use the same inv_std so both compute the same thing.
  const invStd = s.normalization ? s.normalization.std.map((v) => Math.fround(1 / v)) : undefined;
  if (s.normalization && invStd && !fold) {
    initializers.push(tensor('normalization.mean', [s.inputs], s.normalization.mean));
    initializers.push(tensor('normalization.inv_std', [s.inputs], invStd));
    nodes.push({ opType: 'Sub', name: 'normalize_sub', input: [current, 'normalization.mean'], output: ['normalized_centered'] });
    nodes.push({ opType: 'Mul', name: 'normalize_mul', input: ['normalized_centered', 'normalization.inv_std'], output: ['normalized'] });
    current = 'normalized';
  }
  let offset = 0;
  let fanIn = s.inputs;
  s.layers.forEach((layer, l) => {
    let weight = s.params.subarray(offset, offset + fanIn * layer.units);
    let bias = s.params.subarray(offset + fanIn * layer.units, offset + (fanIn + 1) * layer.units);
    offset += (fanIn + 1) * layer.units;
    if (l === 0 && s.normalization && invStd && fold) {
      // x' = (x - mean) * inv_std, so x' W + b = x (inv_std . W) + (b - (mean * inv_std) W).
      const mean = s.normalization.mean;
      const w2 = new Float32Array(weight.length);
      const shift = new Float64Array(layer.units);
      for (let p = 0; p < fanIn; p++) {
        const scale = invStd[p]!;
        const m = mean[p]! * scale;
        for (let j = 0; j < layer.units; j++) {
          const w = weight[p * layer.units + j]!;
          w2[p * layer.units + j] = w * scale;
          shift[j]! += m * w;
        }
      }
      weight = w2;
      bias = bias.map((b, j) => b - shift[j]!);
    }
    const last = l === s.layers.length - 1;
    const gemmOut = layer.activation === 'linear' && last ? 'output' : `layers.${l}.linear`;
    initializers.push(tensor(`layers.${l}.weight`, [fanIn, layer.units], weight));
    initializers.push(tensor(`layers.${l}.bias`, [layer.units], bias));
    nodes.push({ opType: 'Gemm', name: `layers.${l}.gemm`, input: [current, `layers.${l}.weight`, `layers.${l}.bias`], output: [gemmOut] });
    current = gemmOut;
    if (layer.activation !== 'linear') {
      const out = last ? 'output' : `layers.${l}.output`;
      const node: Record<string, unknown> = { name: `layers.${l}.${layer.activation}`, input: [current], output: [out] };
      switch (layer.activation) {
        case 'relu': node.opType = 'Relu'; break;
        case 'sigmoid': node.opType = 'Sigmoid'; break;
        case 'tanh': node.opType = 'Tanh'; break;
        case 'leakyRelu':
          node.opType = 'LeakyRelu';
          node.attribute = [{ name: 'alpha', type: ATTR_FLOAT, f: layer.leakySlope ?? 0.01 }];
          break;
        case 'softmax':
          node.opType = 'Softmax';
          node.attribute = [{ name: 'axis', type: ATTR_INT, i: 1 }];
          break;
      }
      nodes.push(node);
      current = out;
    }
    fanIn = layer.units;
  });
  const metadata: Record<string, string> = {
    architecture: JSON.stringify({ inputs: s.inputs, layers: s.layers }),
    normalization: s.normalization ? (fold ? 'folded into layers.0' : 'explicit (Sub, Mul)') : 'none',
  };
  if (s.loss) metadata.loss = s.loss;
  if (s.classes) metadata.classes = JSON.stringify(s.classes);
  if (s.features) metadata.features = JSON.stringify(s.features);
  const model = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'mlpstream',
    producerVersion: version(),
    modelVersion: 1,
    docString: 'A multilayer perceptron exported by mlpstream: input [batch, inputs] -> output [batch, outputs].',
    graph: {
      name: 'mlp',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', 'batch', s.inputs)],
      output: [valueInfo('output', 'batch', s.layers[s.layers.length - 1]!.units)],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`internal error building the ONNX model: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}
