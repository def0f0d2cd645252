// Test access to the addon's internal kernel entry points.
import { native } from '../../lib/binding.js';

export const testing = native.testing;

/** The ISAs whose kernel tables this build has and this CPU runs. */
export const ISAS = ['portable', 'avx2', 'avx512'].filter((isa) => testing.isaSupported(isa));

export const ACTIVATION_CODES = { linear: 0, sigmoid: 1, tanh: 2, relu: 3, leakyRelu: 4, softmax: 5 } as const;
export const LOSS_CODES = { mse: 0, binaryCrossEntropy: 1, crossEntropy: 2 } as const;
