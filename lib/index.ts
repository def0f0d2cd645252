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
export { FORMAT_VERSION, type JsonValue, type TrainingSummary } from './format.js';
export { ONNX_OPSET, type OnnxExportOptions } from './onnx.js';
export type * from './types.js';
export { createPredictionServer, predictedClasses, serveModel, type RunningServer, type ServeOptions } from './serve.js';
export { writeFileAtomic } from './atomic-file.js';
