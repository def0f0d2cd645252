export { MLP, loadModel } from './model.js';
export { TrainingStream } from './train.js';
export { sgemm, sgemmAsync, setThreads, getThreads, kernelName, type SgemmOptions } from './blas.js';
export {
  AbortError,
  MlpstreamError,
  ModelBusyError,
  ModelFileError,
  ModelFormatError,
  NativeError,
  TrainingDivergedError,
} from './errors.js';
export { FORMAT_VERSION } from './format.js';
export type * from './types.js';
