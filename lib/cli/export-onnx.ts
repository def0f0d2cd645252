// mlpstream export-onnx: the model as a standard ONNX graph.
import { ONNX_OPSET } from '../index.js';
import { parseCommand, type CommandSpec } from './args.js';
import { openModel } from './load.js';

export const exportOnnxSpec: CommandSpec = {
  name: 'export-onnx',
  summary: `Writes the model as an ONNX graph (opset ${ONNX_OPSET}, input standardisation folded into the first layer), atomically.`,
  positionals: ['model.mlp', 'model.onnx'],
  flags: {},
  examples: ['mlpstream export-onnx iris.mlp iris.onnx'],
};

export async function exportOnnx(argv: string[]): Promise<number> {
  const parsed = parseCommand(exportOnnxSpec, argv);
  if (!parsed) return 0;
  const [from, to] = parsed.positionals as [string, string];
  const model = await openModel(from);
  await model.exportONNX(to);
  console.log(`wrote ${to} (${model.inputs} inputs -> ${model.outputs} outputs, opset ${ONNX_OPSET})`);
  return 0;
}
