// Training as a Readable stream of per-epoch metrics.
//
// The native run goes at the consumer's pace: it may finish an epoch only while fewer than
// `highWaterMark` finished epochs wait unread (`allow(read + highWaterMark)`). _read()
// takes whatever epochs are finished (one cheap native call, no thread hop); when none are,
// the native side arms a one-shot notification and the run's thread wakes us with the next
// epoch or the end of the run. Cancelling (break, destroy(), an AbortSignal) sets a flag the
// native loop checks before every mini-batch; the stream closes once the thread has stopped,
// and the model keeps the weights of the last completed epoch.
import { Readable } from 'node:stream';

import { native, RunState, type NativeSession } from './binding.js';
import { AbortError, NativeError, TrainingDivergedError } from './errors.js';
import type { EpochMetrics, LayerDiagnostics } from './types.js';

const FIELDS = native.recordLayout.fields;
const LAYER_FIELDS = native.recordLayout.layerFields;

function fieldIndex(fields: readonly string[], name: string): number {
  const i = fields.indexOf(name);
  if (i < 0) throw new Error(`native record layout has no field '${name}'`);
  return i;
}

const F = {
  epoch: fieldIndex(FIELDS, 'epoch'),
  loss: fieldIndex(FIELDS, 'loss'),
  accuracy: fieldIndex(FIELDS, 'accuracy'),
  rmse: fieldIndex(FIELDS, 'rmse'),
  r2: fieldIndex(FIELDS, 'r2'),
  learningRate: fieldIndex(FIELDS, 'learningRate'),
  epochMs: fieldIndex(FIELDS, 'epochMs'),
  elapsedMs: fieldIndex(FIELDS, 'elapsedMs'),
  batches: fieldIndex(FIELDS, 'batches'),
};
const L = {
  gradNorm: fieldIndex(LAYER_FIELDS, 'gradNorm'),
  weightNorm: fieldIndex(LAYER_FIELDS, 'weightNorm'),
  deadFraction: fieldIndex(LAYER_FIELDS, 'deadFraction'),
  saturatedFraction: fieldIndex(LAYER_FIELDS, 'saturatedFraction'),
};

function decodeRecord(r: Float64Array, base: number, depth: number, rows: number): EpochMetrics {
  const epochMs = r[base + F.epochMs]!;
  const layers: LayerDiagnostics[] = [];
  let at = base + FIELDS.length;
  for (let l = 0; l < depth; l++, at += LAYER_FIELDS.length) {
    const d: LayerDiagnostics = { gradNorm: r[at + L.gradNorm]!, weightNorm: r[at + L.weightNorm]! };
    const dead = r[at + L.deadFraction]!;
    const saturated = r[at + L.saturatedFraction]!;
    if (!Number.isNaN(dead)) d.deadFraction = dead;
    if (!Number.isNaN(saturated)) d.saturatedFraction = saturated;
    layers.push(d);
  }
  const m: EpochMetrics = {
    epoch: r[base + F.epoch]!,
    loss: r[base + F.loss]!,
    learningRate: r[base + F.learningRate]!,
    epochMs,
    elapsedMs: r[base + F.elapsedMs]!,
    samplesPerSecond: epochMs > 0 ? (rows * 1000) / epochMs : Infinity,
    batches: r[base + F.batches]!,
    layers,
  };
  const accuracy = r[base + F.accuracy]!;
  const rmse = r[base + F.rmse]!;
  const r2 = r[base + F.r2]!;
  if (!Number.isNaN(accuracy)) m.accuracy = accuracy;
  if (!Number.isNaN(rmse)) m.rmse = rmse;
  if (!Number.isNaN(r2)) m.r2 = r2;
  return m;
}

export interface TrainingStreamOptions {
  highWaterMark: number;
  signal?: AbortSignal;
  depth: number;
  rowsPerEpoch: number;
}

/** A Readable (object mode) of EpochMetrics, one per epoch. Created by MLP.train(). */
export class TrainingStream extends Readable {
  #session: NativeSession | null;
  readonly #marks: number;
  readonly #depth: number;
  readonly #rows: number;
  #pushed = 0;
  #onDestroyed: (() => void) | null = null;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: () => void;

  /** @internal The session factory receives the notification callback the native run calls. */
  constructor(createSession: (notify: () => void) => NativeSession, options: TrainingStreamOptions) {
    super({ objectMode: true, highWaterMark: options.highWaterMark });
    this.#marks = options.highWaterMark;
    this.#depth = options.depth;
    this.#rows = options.rowsPerEpoch;
    this.#signal = options.signal;
    this.#onAbort = () => this.destroy(new AbortError('training was aborted', { cause: this.#signal?.reason }));
    this.#session = createSession(() => this.#pump());
    this.#session.allow(this.#marks);
    this.#session.start();
    if (this.#signal) {
      if (this.#signal.aborted) queueMicrotask(this.#onAbort);
      else this.#signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /**
   * An error that ends the run (divergence, native failure) is raised only after the reader
   * has taken every epoch finished before it: destroy() would drop them from the buffer.
   */
  #pendingError: Error | null = null;

  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    if (this.#pendingError !== null && this.readableLength === 0) this.#raisePendingError();
    return chunk;
  }

  #raisePendingError(): void {
    const error = this.#pendingError;
    this.#pendingError = null;
    if (error) queueMicrotask(() => this.destroy(error));
  }

  override _read(): void {
    const session = this.#session;
    if (session === null || this.#onDestroyed !== null) return;
    // The reader wants another epoch. readableLength still counts the one being read when
    // read() calls us, so allow at least one epoch beyond those pushed: that guarantees
    // progress, and never lets more than highWaterMark epochs wait unread.
    session.allow(Math.max(this.#pushed + 1, this.#pushed - this.readableLength + this.#marks));
    this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#session === null) {
      callback(error);
      return;
    }
    // Let the native loop stop at its next mini-batch boundary, then finish closing; joining
    // here instead could block the event loop for a whole (large) batch.
    this.#onDestroyed = () => callback(error);
    this.#session.cancel();
    this.#pump();
  }

  #pump(): void {
    const session = this.#session;
    if (session === null) return;
    for (;;) {
      const { state, records, error, divergedEpoch, divergedBatch, divergedLoss, divergedWeights } = session.drain();
      const destroying = this.#onDestroyed !== null;
      if (!destroying && records.length > 0) {
        const size = FIELDS.length + LAYER_FIELDS.length * this.#depth;
        for (let base = 0; base < records.length; base += size) {
          this.push(decodeRecord(records, base, this.#depth, this.#rows));
          this.#pushed++;
        }
      }
      if (state !== RunState.Running) {
        this.#finish(state, error, divergedEpoch ?? 0, divergedBatch ?? 0, divergedLoss ?? NaN, divergedWeights ?? false);
        return;
      }
      if (!destroying) return;
      // Destroying: keep draining until the run reports its end (an empty drain arms the
      // notification that calls us again).
      if (records.length === 0) return;
    }
  }

  #finish(
    state: RunState,
    error: string | undefined,
    epoch: number,
    batch: number,
    loss: number,
    weights: boolean,
  ): void {
    this.#session?.close();
    this.#session = null;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const onDestroyed = this.#onDestroyed;
    if (onDestroyed) {
      this.#onDestroyed = null;
      onDestroyed();
      return;
    }
    if (state === RunState.Completed) {
      this.push(null);
      return;
    }
    this.#pendingError =
      state === RunState.Diverged
        ? new TrainingDivergedError(epoch, batch, loss, weights ? 'weights' : 'loss')
        : new NativeError(error ?? 'the training run stopped unexpectedly');
    if (this.readableLength === 0) this.#raisePendingError();
  }
}
