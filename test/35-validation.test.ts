// Every wrong argument is a TypeError or RangeError that names it; nothing reaches native code unchecked.
import { describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';

const X = [[0, 0], [0, 1], [1, 0], [1, 1]];
const Y = [[0], [1], [1], [0]];
const model = () => new MLP({ inputs: 2, layers: [{ units: 3, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }] });
const softmaxModel = () => new MLP({ inputs: 2, layers: [{ units: 3 }, { units: 3, activation: 'softmax' }] });
const opts = { epochs: 1 };

type Case = [string, () => unknown, ErrorConstructor, RegExp];

const constructorCases: Case[] = [
  ['no options', () => new MLP(undefined as never), TypeError, /options must be an object/],
  ['inputs not an integer', () => new MLP({ inputs: 2.5, layers: [{ units: 1 }] }), TypeError, /options.inputs must be an integer/],
  ['inputs zero', () => new MLP({ inputs: 0, layers: [{ units: 1 }] }), RangeError, /options.inputs must be between 1/],
  ['inputs a string', () => new MLP({ inputs: '2' as never, layers: [{ units: 1 }] }), TypeError, /options.inputs must be an integer, got the string "2"/],
  ['no layers', () => new MLP({ inputs: 2, layers: [] }), TypeError, /options.layers must be a non-empty array/],
  ['units missing', () => new MLP({ inputs: 2, layers: [{} as never] }), TypeError, /options.layers\[0\].units must be an integer/],
  ['unknown activation', () => new MLP({ inputs: 2, layers: [{ units: 2, activation: 'gelu' as never }] }), RangeError, /options.layers\[0\].activation must be one of 'linear'.*got the string "gelu"/],
  ['softmax inside', () => new MLP({ inputs: 2, layers: [{ units: 2, activation: 'softmax' }, { units: 1 }] }), RangeError, /layers\[0\]: softmax is only allowed on the output layer/],
  ['leaky slope out of range', () => new MLP({ inputs: 2, layers: [{ units: 2, activation: 'leakyRelu', leakySlope: 1.5 }] }), RangeError, /leakySlope must be less than 1/],
  ['leaky slope on relu', () => new MLP({ inputs: 2, layers: [{ units: 2, activation: 'relu', leakySlope: 0.1 }] }), TypeError, /leakySlope applies to 'leakyRelu' layers only/],
  ['typo in options', () => new MLP({ inputs: 2, layers: [{ units: 1 }], sed: 1 } as never), TypeError, /unknown option 'sed'/],
  ['negative seed', () => new MLP({ inputs: 2, layers: [{ units: 1 }], seed: -1 }), RangeError, /options.seed must be between 0/],
];

const trainCases: Case[] = [
  ['no data', () => model().train(undefined as never, opts), TypeError, /data must be an object/],
  ['x not an array', () => model().train({ x: 'abc' as never, y: Y }, opts), TypeError, /data.x must be an array of rows/],
  ['row of wrong width', () => model().train({ x: [[0, 0], [1]], y: [[0], [1]] }, opts), RangeError, /data.x\[1\] has 1 inputs, expected 2/],
  ['NaN in x', () => model().train({ x: [[0, 0], [0, NaN]], y: [[0], [1]] }, opts), RangeError, /data.x\[1\]\[1\] is NaN; data must be finite/],
  ['Infinity in flat x', () => model().train({ x: new Float32Array([0, 0, Infinity, 1]), y: [[0], [1]] }, opts), RangeError, /data.x\[1\]\[0\] is Infinity/],
  ['string in x', () => model().train({ x: [[0, '1' as never]], y: [[0]] }, opts), TypeError, /data.x\[0\]\[1\] must be a number, got the string "1"/],
  ['flat x not a multiple', () => model().train({ x: new Float32Array(5), y: [[0], [1]] }, opts), RangeError, /data.x has 5 elements, not a multiple of 2/],
  ['rows differ', () => model().train({ x: X, y: [[0], [1]] }, opts), RangeError, /data.y has 2 rows but data.x has 4/],
  ['y of wrong width', () => model().train({ x: X, y: [[0, 1], [1, 0], [1, 0], [0, 1]] }, opts), RangeError, /data.y\[0\] has 2 targets, expected 1/],
  ['bce target out of range', () => model().train({ x: X, y: [[0], [2], [1], [0]] }, opts), RangeError, /data.y\[1\]\[0\] is 2; binaryCrossEntropy targets must be in \[0, 1\]/],
  ['label out of range', () => softmaxModel().train({ x: X, y: [0, 1, 3, 2] }, opts), RangeError, /data.y\[2\] is 3, outside the 3 classes 0..2/],
  ['negative label', () => softmaxModel().train({ x: X, y: new Int32Array([0, -1, 1, 2]) }, opts), RangeError, /data.y\[1\] is -1/],
  ['fractional label', () => softmaxModel().train({ x: X, y: [0, 1.5, 1, 2] }, opts), TypeError, /data.y\[1\] must be an integer class label/],
  ['no rows', () => model().train({ x: [], y: [] }, opts), RangeError, /data.x has no rows/],
  ['epochs missing', () => model().train({ x: X, y: Y }, {} as never), TypeError, /options.epochs must be an integer/],
  ['epochs zero', () => model().train({ x: X, y: Y }, { epochs: 0 }), RangeError, /options.epochs must be between 1/],
  ['unknown loss', () => model().train({ x: X, y: Y }, { epochs: 1, loss: 'hinge' as never }), RangeError, /options.loss must be one of/],
  ['loss/output mismatch', () => model().train({ x: X, y: Y }, { epochs: 1, loss: 'crossEntropy' }), RangeError, /'crossEntropy' needs a softmax output layer/],
  ['mse on softmax', () => softmaxModel().train({ x: X, y: [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]] }, { epochs: 1, loss: 'mse' }), RangeError, /cannot train a softmax output/],
  ['batch size zero', () => model().train({ x: X, y: Y }, { epochs: 1, batchSize: 0 }), RangeError, /options.batchSize must be between 1/],
  ['batch size string', () => model().train({ x: X, y: Y }, { epochs: 1, batchSize: 'half' as never }), TypeError, /options.batchSize must be an integer/],
  ['unknown optimizer', () => model().train({ x: X, y: Y }, { epochs: 1, optimizer: 'adagrad' as never }), RangeError, /options.optimizer.type must be one of/],
  ['negative learning rate', () => model().train({ x: X, y: Y }, { epochs: 1, optimizer: { type: 'sgd', learningRate: -1 } }), RangeError, /learningRate must be greater than 0/],
  ['NaN learning rate', () => model().train({ x: X, y: Y }, { epochs: 1, optimizer: { type: 'sgd', learningRate: NaN } }), RangeError, /learningRate must be finite/],
  ['momentum >= 1', () => model().train({ x: X, y: Y }, { epochs: 1, optimizer: { type: 'sgd', momentum: 1 } }), RangeError, /momentum must be less than 1/],
  ['unknown train option', () => model().train({ x: X, y: Y }, { epochs: 1, epoch: 3 } as never), TypeError, /unknown option 'epoch'/],
  ['signal not a signal', () => model().train({ x: X, y: Y }, { epochs: 1, signal: {} as never }), TypeError, /options.signal must be an AbortSignal/],
  ['highWaterMark zero', () => model().train({ x: X, y: Y }, { epochs: 1, highWaterMark: 0 }), RangeError, /highWaterMark must be between 1/],
];

const otherCases: Case[] = [
  ['predict wrong width', () => model().predict([[1, 2, 3]]), RangeError, /x\[0\] has 3 inputs, expected 2/],
  ['predict NaN', () => model().predict([[1, NaN]]), RangeError, /x\[0\]\[1\] is NaN/],
  ['predict not an array', () => model().predict(42 as never), TypeError, /x must be an array of rows/],
  ['setWeights wrong count', () => model().setWeights([]), TypeError, /setWeights needs an array of 2 layers/],
  ['setWeights wrong shape', () => {
    const m = model();
    const w = m.getWeights();
    w[0]!.weights = new Float32Array(5);
    m.setWeights(w);
  }, RangeError, /layers\[0\].weights must be a Float32Array of 6 \(2 x 3\)/],
  ['setWeights NaN', () => {
    const m = model();
    const w = m.getWeights();
    w[1]!.bias[0] = NaN;
    m.setWeights(w);
  }, RangeError, /layers\[1\].bias\[0\] is NaN/],
];

describe('bad input is a clear TypeError or RangeError', () => {
  it.each(constructorCases)('new MLP: %s', (_, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
  it.each(trainCases)('train: %s', (_, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
  it.each(otherCases)('%s', (_, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });

  it('a model whose train() threw is not left busy', () => {
    const m = model();
    expect(() => m.train({ x: X, y: [[0], [1]] }, opts)).toThrow(RangeError);
    expect(m.isTraining).toBe(false);
  });
});
