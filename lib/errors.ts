/** Base class of the errors mlpstream defines; each carries a stable `code`. */
export class MlpstreamError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A model file or buffer is malformed, truncated, inconsistent or from an unknown version. */
export class ModelFormatError extends MlpstreamError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_MODEL_FORMAT', options);
  }
}

/** The training loss became NaN or infinite; the model keeps the weights of the last good epoch. */
export class TrainingDivergedError extends MlpstreamError {
  readonly epoch: number;
  readonly batch: number;
  readonly loss: number;
  /** 'loss': the batch's loss was NaN/Infinity; 'weights': its update made the weights non-finite. */
  readonly reason: 'loss' | 'weights';
  constructor(epoch: number, batch: number, loss: number, what: 'loss' | 'weights' = 'loss') {
    super(
      `training diverged at epoch ${epoch}, batch ${batch}: ` +
        (what === 'loss' ? `the loss is ${loss}` : 'the update made the weights non-finite') +
        `; the model keeps the weights of epoch ${epoch - 1}. Try a smaller learning rate or gradient clipping.`,
      'ERR_TRAINING_DIVERGED',
    );
    this.reason = what;
    this.epoch = epoch;
    this.batch = batch;
    this.loss = loss;
  }
}

/** The model is training, and the operation would race with it (train twice, setWeights...). */
export class ModelBusyError extends MlpstreamError {
  constructor(action: string) {
    super(`cannot ${action}: the model is training; wait for the run to end or cancel it`, 'ERR_MODEL_BUSY');
  }
}

/** Training was stopped by an AbortSignal (Node's convention: name 'AbortError', code 'ABORT_ERR'). */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** Native code reported a failure that is not the caller's fault (out of memory, internal error). */
export class NativeError extends MlpstreamError {
  constructor(message: string) {
    super(message, 'ERR_NATIVE');
  }
}

/** A model file could not be written (or read): the path is not writable, the disk is full... */
export class ModelFileError extends MlpstreamError {
  readonly path: string;
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, 'ERR_MODEL_FILE', options);
    this.path = path;
  }
}
