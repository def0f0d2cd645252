// Training as a Readable stream of per-epoch metrics.
//
// The native run and this stream share a control block of 32-bit words and a ring of packed
// epoch records (native/core/nn/training_run.h). The stream allows the run to finish epochs
// up to `read + highWaterMark` (one Atomics.store whenever the reader takes an epoch), and
// takes finished records from the ring with plain loads: when epochs are tiny, a whole run
// goes by without a single call into native code or a thread wake-up. Only when one side
// finds nothing to do does it sleep, raising a flag that tells the other to wake it.
//
// Cancelling (break, destroy(), an AbortSignal) sets a flag the native loop checks before
// every mini-batch; the stream closes once the thread has stopped, and the model keeps the
// weights of the last completed epoch.
import { Readable } from 'node:stream';

import { native, RunState, type NativeSession } from './binding.js';
import { AbortError, NativeError, TrainingDivergedError } from './errors.js';
import type { EpochMetrics, LayerDiagnostics, TrainingProgress } from './types.js';

/**
 * After an epoch arrived, how long the stream keeps looking for the next one on each turn of
 * the event loop (setImmediate) before it sleeps until the run notifies it. Tiny epochs arrive
 * every microsecond or so, and a notification across threads costs tens of microseconds;
 * long epochs stop the polling within this window, so it costs them nothing.
 */
const POLL_WINDOW_MS = 2;

const FIELDS = native.recordLayout.fields;
const LAYER_FIELDS = native.recordLayout.layerFields;
const W = native.channelLayout;

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
  valLoss: fieldIndex(FIELDS, 'valLoss'),
  valAccuracy: fieldIndex(FIELDS, 'valAccuracy'),
  valRmse: fieldIndex(FIELDS, 'valRmse'),
  valR2: fieldIndex(FIELDS, 'valR2'),
  gradNorm: fieldIndex(FIELDS, 'gradNorm'),
  stopped: fieldIndex(FIELDS, 'stopped'),
  bestEpoch: fieldIndex(FIELDS, 'bestEpoch'),
  samples: fieldIndex(FIELDS, 'samples'),
};

const L = {
  gradNorm: fieldIndex(LAYER_FIELDS, 'gradNorm'),
  weightNorm: fieldIndex(LAYER_FIELDS, 'weightNorm'),
  deadFraction: fieldIndex(LAYER_FIELDS, 'deadFraction'),
  saturatedFraction: fieldIndex(LAYER_FIELDS, 'saturatedFraction'),
};

const orUndefined = (v: number): number | undefined => (Number.isNaN(v) ? undefined : v);

// Every metrics object is built with the same keys in the same order (absent measures are
// undefined): one hidden class for V8, which matters when epochs come every microsecond.
function decodeRecord(r: Float64Array, base: number, depth: number): EpochMetrics {
  const epochMs = r[base + F.epochMs]!;
  const rows = r[base + F.samples]!;
  const layers: LayerDiagnostics[] = new Array(depth);
  let at = base + FIELDS.length;
  for (let l = 0; l < depth; l++, at += LAYER_FIELDS.length) {
    layers[l] = {
      gradNorm: r[at + L.gradNorm]!,
      weightNorm: r[at + L.weightNorm]!,
      deadFraction: orUndefined(r[at + L.deadFraction]!),
      saturatedFraction: orUndefined(r[at + L.saturatedFraction]!),
    };
  }
  const bestEpoch = r[base + F.bestEpoch]!;
  return {
    epoch: r[base + F.epoch]!,
    loss: r[base + F.loss]!,
    accuracy: orUndefined(r[base + F.accuracy]!),
    rmse: orUndefined(r[base + F.rmse]!),
    r2: orUndefined(r[base + F.r2]!),
    valLoss: orUndefined(r[base + F.valLoss]!),
    valAccuracy: orUndefined(r[base + F.valAccuracy]!),
    valRmse: orUndefined(r[base + F.valRmse]!),
    valR2: orUndefined(r[base + F.valR2]!),
    learningRate: r[base + F.learningRate]!,
    epochMs,
    elapsedMs: r[base + F.elapsedMs]!,
    samplesPerSecond: epochMs > 0 ? (rows * 1000) / epochMs : Infinity,
    batches: r[base + F.batches]!,
    gradNorm: orUndefined(r[base + F.gradNorm]!),
    bestEpoch: bestEpoch > 0 ? bestEpoch : undefined,
    stoppedEarly: r[base + F.stopped] === 1 ? true : undefined,
    layers,
  };
}

/** One chunk of streamed training data, converted and checked. */
export interface PreparedChunk {
  x: Float32Array;
  rows: number;
  y: Float32Array | null;
  labels: Int32Array | null;
}

/** Where streamed training data comes from: a fresh iterable of chunks per epoch. */
export interface ChunkSource {
  epochs: number;
  open(epoch: number): AsyncIterable<unknown> | Iterable<unknown>;
  /** Converts and checks one chunk (throws TypeError/RangeError naming it). */
  prepare(chunk: unknown, epoch: number, index: number): PreparedChunk;
}

export interface TrainingStreamOptions {
  highWaterMark: number;
  signal?: AbortSignal;
  depth: number;
  /** Called with each epoch's metrics as it leaves the native run (before the reader sees it). */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Epochs the model had trained before this run (the first epoch of the run is this + 1). */
  epochsBefore: number;
  /** Rows in one mini-batch (the last one of an epoch may have fewer). */
  batchRows: number;
  onProgress?: (progress: TrainingProgress) => void;
  /** Milliseconds between progress reports. */
  progressInterval: number;
  /** Training data that streams in (the session was created without in-memory data). */
  source?: ChunkSource;
}

/** How far back the progress rate looks (ms). */
const RATE_WINDOW_MS = 3000;

/**
 * Throttled progress inside epochs, read from the words the training thread updates after
 * every mini-batch (batchesDone, batchesPerEpoch, produced, threadSleeping).
 */
class ProgressMeter {
  /** (time, batches done in the run) when the count changed, oldest first, within the window. */
  readonly #points: { t: number; batches: number }[] = [];
  #lastEpoch = 0;
  #lastBatches = -1;
  #pointsEpoch = 0;

  constructor(
    readonly control: Int32Array,
    readonly epochsBefore: number,
    readonly batchRows: number,
    readonly started: number,
  ) {}

  /** The progress to report now, or null when nothing moved since the last report. */
  sample(now: number): TrainingProgress | null {
    const control = this.control;
    // The run says when it has its data in hand (big arrays are copied on its thread first).
    if (Atomics.load(control, W.inputsCopied) !== 1) return null;
    // 0 when the data streams in: the length of an epoch is not known beforehand.
    const perEpoch = Atomics.load(control, W.batchesPerEpoch);
    // produced is read on both sides of batchesDone: an epoch that ended in between would mix
    // two epochs' counts. (The run clears batchesDone before it publishes an epoch.)
    const produced = Atomics.load(control, W.produced) >>> 0;
    let done = Atomics.load(control, W.batchesDone);
    if ((Atomics.load(control, W.produced) >>> 0) !== produced) return null;
    const epoch = this.epochsBefore + produced + 1;
    // Within one epoch the count only grows (a read between the clearing and the publication
    // of an epoch could show 0 for an instant).
    if (epoch === this.#lastEpoch && done < this.#lastBatches) done = this.#lastBatches;
    done = Math.max(done, 0);
    if (perEpoch > 0) done = Math.min(done, perEpoch);
    // Batches over the whole run, for the rate: epochs already done count whole (streamed
    // epochs, of unknown length, count from the start of the current one).
    const batches = perEpoch > 0 ? produced * perEpoch + done : done;
    if (perEpoch === 0 && epoch !== this.#pointsEpoch) {
      this.#points.length = 0;
      this.#pointsEpoch = epoch;
    }
    const points = this.#points;
    if (Atomics.load(control, W.threadSleeping) !== 0) {
      // Paused by backpressure (asleep, or being woken): the time asleep is not training time.
      points.length = 0;
    } else if (points.length === 0 || points[points.length - 1]!.batches !== batches) {
      points.push({ t: now, batches });
      while (points.length > 2 && now - points[0]!.t > RATE_WINDOW_MS) points.shift();
    }
    if (epoch === this.#lastEpoch && done === this.#lastBatches) return null;
    // Nothing of this epoch done yet: it may not even start (the run's last epoch is over, or
    // backpressure holds it), so there is nothing to report.
    if (done === 0 || Atomics.load(control, W.state) !== RunState.Running) return null;
    if (points.length < 2) return null; // no rate yet
    const first = points[0]!;
    const last = points[points.length - 1]!;
    const batchesPerMs = (last.batches - first.batches) / (last.t - first.t);
    this.#lastEpoch = epoch;
    this.#lastBatches = done;
    return {
      epoch,
      batchesDone: done,
      batchesPerEpoch: perEpoch,
      samplesPerSecond: batchesPerMs * this.batchRows * 1000,
      etaMs: perEpoch === 0 ? NaN : batchesPerMs > 0 ? (perEpoch - done) / batchesPerMs : Infinity,
      elapsedMs: now - this.started,
    };
  }
}

/** The events a TrainingStream adds to those of a Readable. */
export interface TrainingStream {
  on(event: 'progress', listener: (progress: TrainingProgress) => void): this;
  on(event: 'data', listener: (metrics: EpochMetrics) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'progress', listener: (progress: TrainingProgress) => void): this;
  once(event: 'data', listener: (metrics: EpochMetrics) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
  off(event: 'progress', listener: (progress: TrainingProgress) => void): this;
  off(event: string | symbol, listener: (...args: any[]) => void): this;
  [Symbol.asyncIterator](): AsyncIterableIterator<EpochMetrics>;
}

/**
 * A Readable (object mode) of EpochMetrics, one per epoch. Created by MLP.train().
 *
 * Events beyond a Readable's: 'progress' (TrainingProgress), throttled to the run's
 * progressInterval, while an epoch is under way.
 */
export class TrainingStream extends Readable {
  #session: NativeSession | null;
  readonly #control: Int32Array;
  readonly #ring: Float64Array;
  readonly #capacity: number;
  readonly #recordSize: number;
  readonly #marks: number;
  readonly #depth: number;
  /** Records taken from the ring (and pushed), modulo 2^32 like the native counters. */
  #taken = 0;
  #pushed = 0;
  #waiting = false;
  /** A setImmediate look at the ring is scheduled (see POLL_WINDOW_MS). */
  #polling = false;
  #lastRecordAt = 0;
  readonly #poll = () => {
    this.#polling = false;
    this.#pump();
  };
  /** Outstanding reasons to keep the process alive (waiting for epochs, for an input buffer). */
  #refs = 0;
  #slotWaiter: (() => void) | null = null;
  #onDestroyed: (() => void) | null = null;
  /**
   * An error that ends the run (divergence, native failure) is raised only after the reader
   * has taken every epoch finished before it: destroy() would drop them from the buffer.
   */
  #pendingError: Error | null = null;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: () => void;
  readonly #onEpoch: ((metrics: EpochMetrics) => void) | undefined;
  readonly #meter: ProgressMeter;
  readonly #progressInterval: number;
  #progressTimer: NodeJS.Timeout | null = null;
  /** The session still holds the training arrays (big ones are copied by the thread). */
  #holdsInputs = true;
  /** The native run was started (not when the signal was aborted before train()). */
  #started = false;

  /** @internal The session factory receives the notification callback the native run calls. */
  constructor(createSession: (notify: () => void) => NativeSession, options: TrainingStreamOptions) {
    super({ objectMode: true, highWaterMark: options.highWaterMark });
    this.#marks = options.highWaterMark;
    this.#depth = options.depth;
    this.#signal = options.signal;
    this.#onEpoch = options.onEpoch;
    this.#onAbort = () => this.destroy(new AbortError('training was aborted', { cause: this.#signal?.reason }));
    // The native run calls this from a thread-safe function; the stream's work (and the
    // listeners it runs, which may throw) goes to the next tick, so that an exception thrown by
    // a 'data' listener is an ordinary uncaught exception rather than an error swallowed at
    // the native boundary.
    const onNotify = () => this.#onNotify();
    const session = createSession(() => process.nextTick(onNotify));
    this.#session = session;
    this.#control = new Int32Array(session.control);
    this.#ring = new Float64Array(session.ring);
    this.#recordSize = FIELDS.length + LAYER_FIELDS.length * this.#depth;
    this.#capacity = this.#ring.length / this.#recordSize;
    Atomics.store(this.#control, W.allowed, this.#marks);
    this.#meter = new ProgressMeter(this.#control, options.epochsBefore, options.batchRows, performance.now());
    this.#progressInterval = options.progressInterval;
    if (options.onProgress) this.on('progress', options.onProgress);
    // Progress is sampled only while someone listens for it.
    this.on('newListener', (event: string | symbol) => {
      if (event === 'progress') queueMicrotask(() => this.#startProgress());
    });
    this.#startProgress();
    if (this.#signal?.aborted) {
      // Aborted already: the run never starts (Node's APIs do no work for an aborted signal).
      queueMicrotask(this.#onAbort);
    } else {
      session.start();
      this.#started = true;
      this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    }
    if (options.source) {
      this.#feed(options.source).catch((error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))));
    }
  }

  #ref(): void {
    if (this.#refs++ === 0) this.#session?.ref();
  }

  #unref(): void {
    if (--this.#refs === 0) this.#session?.unref();
  }

  get #stopped(): boolean {
    return this.#session === null || this.#onDestroyed !== null;
  }

  /**
   * Hands streamed data to the run, epoch by epoch: each chunk is copied once into one of the
   * run's two input buffers while it trains on the other; when both are busy we wait for the
   * run to free one.
   */
  async #feed(source: ChunkSource): Promise<void> {
    for (let epoch = 0; epoch < source.epochs; epoch++) {
      if (this.#stopped) return;
      const iterable = source.open(epoch);
      const iterator =
        Symbol.asyncIterator in Object(iterable)
          ? (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]()
          : (iterable as Iterable<unknown>)[Symbol.iterator]();
      let rows = 0;
      let finished = false;
      try {
        for (let index = 0; ; index++) {
          const step = await iterator.next();
          if (this.#stopped) return;
          if (step.done) {
            finished = true;
            break;
          }
          const chunk = source.prepare(step.value, epoch, index);
          if (chunk.rows === 0) continue;
          rows += chunk.rows;
          while (!this.#session!.feed(chunk.x, chunk.rows, chunk.y, chunk.labels)) {
            await new Promise<void>((resolve) => {
              this.#slotWaiter = resolve;
              this.#ref();
            });
            if (this.#stopped) return;
          }
        }
      } finally {
        if (!finished) await iterator.return?.();
      }
      if (rows === 0) {
        throw new RangeError(
          `the training data gave no rows in epoch ${epoch + 1}` +
            (epoch > 0 ? '; an iterator can be read only once: pass a function that returns a fresh iterable per epoch' : ''),
        );
      }
      this.#session!.endEpoch();
    }
  }

  #releaseSlotWaiter(): void {
    const waiter = this.#slotWaiter;
    if (waiter) {
      this.#slotWaiter = null;
      this.#unref();
      waiter();
    }
  }

  #startProgress(): void {
    if (this.#progressTimer !== null || this.#session === null || this.listenerCount('progress') === 0) return;
    // Unref'd: reporting progress never keeps the process alive.
    this.#progressTimer = setInterval(() => this.#reportProgress(), this.#progressInterval).unref();
  }

  #stopProgress(): void {
    if (this.#progressTimer !== null) clearInterval(this.#progressTimer);
    this.#progressTimer = null;
  }

  #reportProgress(): void {
    if (this.#session === null || this.#onDestroyed !== null || this.destroyed) {
      this.#stopProgress();
      return;
    }
    this.#releaseInputs();
    if (this.listenerCount('progress') === 0) {
      this.#stopProgress();
      return;
    }
    const progress = this.#meter.sample(performance.now());
    if (progress !== null) this.emit('progress', progress);
  }

  /** Lets the session drop its references to the training arrays once the thread has copied them. */
  #releaseInputs(): void {
    if (this.#holdsInputs && this.#session !== null && Atomics.load(this.#control, W.inputsCopied) === 1) {
      this.#holdsInputs = !this.#session.releaseInputs();
    }
  }

  /** Lets the run finish epochs up to `through` (a count), waking it if it sleeps. */
  #allow(through: number): void {
    const control = this.#control;
    if (((through - Atomics.load(control, W.allowed)) | 0) <= 0) return;
    Atomics.store(control, W.allowed, through | 0);
    this.#wakeRun();
  }

  /**
   * Wakes the run if it sleeps waiting for us. Only the call that moves the flag from 1
   * (asleep) to 2 (being woken) makes the native call: until the thread runs again and clears
   * it, further allowances need no wake-up (and a wake-up is a system call).
   */
  #wakeRun(): void {
    if (Atomics.compareExchange(this.#control, W.threadSleeping, 1, 2) === 1) this.#session?.wake();
  }

  /** Epochs the reader has taken: pushed minus those still buffered. Exact outside read(). */
  #grant(): void {
    this.#allow((this.#direct ? this.#consumed : this.#pushed - this.readableLength) + this.#marks);
  }

  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    if (chunk !== null && this.#session !== null) this.#grant();
    if (this.#pendingError !== null && this.readableLength === 0) this.#raisePendingError();
    return chunk;
  }

  /**
   * `for await` over the stream. Same contract as Readable's own iterator (errors are thrown,
   * `break` destroys the stream, the stream is destroyed at the end), but the epochs go from the
   * ring straight to the iterator, not through the Readable's buffer and its async generator:
   * a fraction of a microsecond per epoch, which is what tiny epochs (XOR: under a microsecond
   * of compute) are made of. Backpressure is the same: the run may be highWaterMark epochs
   * ahead of what the loop has taken. Like any Readable, do not mix `for await` with 'data'
   * listeners or pipes on the same stream. `return()` (break) resolves once the run has stopped,
   * so the model is free to use right after the loop.
   */
  override [Symbol.asyncIterator](): AsyncIterableIterator<EpochMetrics> {
    const stream = this;
    // Epochs already in the Readable's buffer come first.
    // Direct mode starts before the drain: _read() then neither allows more epochs (the drained
    // ones are not taken yet, so the run must not lead them by highWaterMark) nor pumps new
    // records in ahead of the buffered ones.
    const queue: EpochMetrics[] = [];
    this.#consumed = this.#pushed - this.readableLength;
    this.#direct = queue;
    for (let chunk = super.read(); chunk !== null; chunk = super.read()) queue.push(chunk as EpochMetrics);
    let wake: (() => void) | null = null;
    const onEvent = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    this.#directWake = onEvent;
    stream.on('close', onEvent);
    // Kept for the stream's life: destroy(error) sets `errored` at once but emits 'error' on a
    // later tick, after we may have thrown it already; an 'error' without a listener would
    // crash the process.
    stream.on('error', onEvent);
    const cleanup = () => {
      stream.off('close', onEvent);
      stream.#directWake = null;
    };
    let finished = false;
    const settled = (): IteratorResult<EpochMetrics> | null => {
      if (finished) return { value: undefined, done: true };
      // A destroyed stream hands out nothing more, like Readable's own iterator.
      if (stream.#head < queue.length && !stream.destroyed) {
        const value = queue[stream.#head++]!;
        // Drop taken epochs at once: held on, they would outlive V8's young generation and turn
        // cheap scavenges into full collections.
        if (stream.#head === queue.length) {
          queue.length = 0;
          stream.#head = 0;
        } else if (stream.#head > 1024 && stream.#head * 2 > queue.length) {
          queue.splice(0, stream.#head);
          stream.#head = 0;
        }
        stream.#consumed++;
        if (stream.#session !== null) stream.#allow(stream.#consumed + stream.#marks);
        return { value, done: false };
      }
      const error = stream.errored;
      if (error) {
        cleanup();
        throw error;
      }
      if (stream.#pendingError !== null) {
        stream.#raisePendingError();
        return null; // thrown once destroy() has set it
      }
      if (stream.#directEnded && !stream.destroyed) {
        cleanup();
        // End the Readable as if it had been read to the end: 'end', then (autoDestroy) 'close'.
        if (!stream.#endPushed) stream.push(null);
        Readable.prototype.read.call(stream, 0);
        finished = true;
        return { value: undefined, done: true };
      }
      if (stream.destroyed) {
        cleanup();
        throw Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
      }
      if (!stream.#pumping) stream.#pump();
      return stream.#head < queue.length ? settled() : null;
    };
    const iterator: AsyncIterableIterator<EpochMetrics> = {
      next() {
        try {
          const now = settled();
          if (now) return Promise.resolve(now);
        } catch (error) {
          return Promise.reject(error);
        }
        return new Promise((resolve, reject) => {
          const retry = () => {
            try {
              const result = settled();
              if (result) resolve(result);
              else wake = retry;
            } catch (error) {
              reject(error);
            }
          };
          wake = retry;
        });
      },
      async return() {
        cleanup();
        finished = true;
        if (!stream.closed) {
          const closed = new Promise((resolve) => stream.once('close', resolve));
          stream.destroy();
          await closed;
        }
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** `for await` mode: epochs queue here instead of in the Readable's buffer. */
  #direct: EpochMetrics[] | null = null;
  #head = 0;
  /** Epochs the `for await` loop has taken. */
  #consumed = 0;
  #directWake: (() => void) | null = null;
  /** The run completed: nothing but the epochs already taken from the ring will come. */
  #directEnded = false;
  #endPushed = false;
  #pumping = false;

  override _read(): void {
    if (this.#session === null || this.#onDestroyed !== null || this.#direct !== null) return;
    // Called from read() before the epoch being read leaves the buffer: allow at least one
    // epoch beyond those pushed, so the run can always make progress.
    this.#allow(Math.max(this.#pushed + 1, this.#pushed - this.readableLength + this.#marks));
    this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const session = this.#session;
    if (session === null) {
      callback(error);
      return;
    }
    this.#stopProgress();
    if (!this.#started) {
      // No thread to wait for.
      session.close();
      this.#session = null;
      callback(error);
      return;
    }
    // Let the native loop stop at its next mini-batch boundary, then finish closing; joining
    // here instead could block the event loop for a whole (large) batch.
    this.#onDestroyed = () => callback(error);
    session.cancel();
    this.#pump();
  }

  #onNotify(): void {
    if (this.#waiting) {
      this.#waiting = false;
      this.#unref();
    }
    this.#releaseSlotWaiter();
    this.#pump();
  }

  /** Moves finished records from the ring into the stream; handles the end of the run. */
  #pump(): void {
    const before = this.#pushed;
    this.#pumping = true;
    try {
      this.#pumpRing();
    } finally {
      this.#pumping = false;
    }
    // A `for await` loop waiting for epochs (or for the end) looks again when there is
    // something new, on a microtask so it never runs inside this pump.
    const wake = this.#directWake;
    const news = this.#pushed !== before || this.#session === null || this.#pendingError !== null;
    if (wake !== null && this.#direct !== null && news) queueMicrotask(wake);
  }

  #pumpRing(): void {
    const session = this.#session;
    if (session === null) return;
    const control = this.#control;
    const destroying = this.#onDestroyed !== null;
    this.#releaseInputs();
    for (;;) {
      const produced = Atomics.load(control, W.produced);
      // Read the state before the records: the run writes it after its last record.
      const state = Atomics.load(control, W.state) as RunState;
      if (this.#taken !== produced) this.#lastRecordAt = performance.now();
      while (this.#taken !== produced) {
        if (!destroying) {
          const base = (this.#taken >>> 0) % this.#capacity * this.#recordSize;
          const metrics = decodeRecord(this.#ring, base, this.#depth);
          this.#onEpoch?.(metrics);
          if (this.#direct) this.#direct.push(metrics);
          else this.push(metrics);
          this.#pushed++;
        }
        this.#taken = (this.#taken + 1) | 0;
      }
      Atomics.store(control, W.taken, this.#taken);
      // A full ring also holds the run back; it may be asleep waiting for this room.
      this.#wakeRun();
      if (state !== RunState.Running) {
        this.#finish(state);
        return;
      }
      if (!destroying) this.#grant();
      if (this.#waiting || this.#polling) return;
      if (performance.now() - this.#lastRecordAt < POLL_WINDOW_MS) {
        // Epochs are arriving fast (tiny epochs): look again on the next turn of the event loop
        // instead of sleeping; a thread-safe call would cost more than several epochs.
        this.#polling = true;
        setImmediate(this.#poll);
        return;
      }
      // Nothing new: ask to be notified, then look once more (the run checks the flag after
      // publishing, we check the counters after raising it, so one of us sees the other).
      Atomics.store(control, W.consumerWaiting, 1);
      if (Atomics.load(control, W.produced) === produced && Atomics.load(control, W.state) === RunState.Running) {
        this.#waiting = true;
        this.#ref();
        return;
      }
      Atomics.store(control, W.consumerWaiting, 0);
      if (!destroying && !this.#direct && this.readableLength >= this.#marks) return;
    }
  }

  #raisePendingError(): void {
    const error = this.#pendingError;
    this.#pendingError = null;
    if (error) queueMicrotask(() => this.destroy(error));
  }

  #finish(state: RunState): void {
    const session = this.#session!;
    const outcome = state === RunState.Diverged || state === RunState.Failed ? session.outcome() : {};
    this.#stopProgress();
    if (this.#waiting) {
      this.#waiting = false;
      this.#unref();
    }
    session.close();
    this.#session = null;
    this.#releaseSlotWaiter();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const onDestroyed = this.#onDestroyed;
    if (onDestroyed) {
      this.#onDestroyed = null;
      onDestroyed();
      return;
    }
    if (state === RunState.Completed) {
      // Also when no `for await` loop exists yet: one may start after the run has ended.
      this.#directEnded = true;
      if (!this.#direct) {
        this.#endPushed = true;
        this.push(null);
      }
      return;
    }
    this.#pendingError =
      state === RunState.Diverged
        ? new TrainingDivergedError(
            outcome.divergedEpoch ?? 0,
            outcome.divergedBatch ?? 0,
            outcome.divergedLoss ?? NaN,
            outcome.divergedWeights ? 'weights' : 'loss',
          )
        : outcome.invalidData
          ? new RangeError(outcome.error)
          : new NativeError(outcome.error ?? 'the training run stopped unexpectedly');
    if (this.#direct ? this.#head >= this.#direct.length : this.readableLength === 0) this.#raisePendingError();
  }
}
