// Names <-> the numeric codes the native side uses. One table each, in native order.
import type { ActivationName, LossName, OptimizerName } from './types.js';

export const ACTIVATIONS: readonly ActivationName[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax'];
export const LOSSES: readonly LossName[] = ['mse', 'binaryCrossEntropy', 'crossEntropy'];
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam', 'adamw', 'rmsprop', 'lbfgs'];

export const activationCode = (name: ActivationName): number => ACTIVATIONS.indexOf(name);
export const lossCode = (name: LossName): number => LOSSES.indexOf(name);
export const optimizerCode = (name: OptimizerName): number => OPTIMIZERS.indexOf(name);

/** The slope leakyRelu uses when none is given. */
export const DEFAULT_LEAKY_SLOPE = 0.01;
