// Resolution of the training options into the plain configuration the native trainer takes:
// defaults, ranges and clear errors, in one place.
import type { NativeOptimizerConfig } from './binding.js';
import { OPTIMIZERS, optimizerCode } from './codes.js';
import type { EarlyStoppingOptions, MonitorName, OptimizerOptions, ScheduleOptions } from './types.js';
import { assertBoolean, assertInteger, assertKnownKeys, assertNumber, assertObject, assertOneOf, type NumberBounds } from './validate.js';

const MAX_EPOCHS = 2 ** 40;

export function resolveOptimizer(value: unknown): NativeOptimizerConfig {
  const options: Record<string, unknown> =
    typeof value === 'string' ? { type: value } : value === undefined ? { type: 'sgd' } : (value as Record<string, unknown>);
  assertObject(options, 'options.optimizer');
  assertKnownKeys(options, 'options.optimizer', [
    'type', 'learningRate', 'momentum', 'nesterov', 'beta1', 'beta2', 'rho', 'epsilon', 'weightDecay', 'historySize',
  ]);
  const type = assertOneOf(options.type, 'options.optimizer.type', OPTIMIZERS);
  const o = options as Partial<OptimizerOptions>;
  const num = (v: unknown, name: string, fallback: number, bounds: NumberBounds) =>
    v === undefined ? fallback : assertNumber(v, `options.optimizer.${name}`, bounds);
  const onlyFor = (name: keyof OptimizerOptions, types: readonly string[]) => {
    if (o[name] !== undefined && !types.includes(type)) {
      throw new TypeError(`options.optimizer.${name} does not apply to '${type}' (only to ${types.join(', ')})`);
    }
  };
  onlyFor('momentum', ['sgd']);
  onlyFor('nesterov', ['sgd']);
  onlyFor('beta1', ['adam', 'adamw']);
  onlyFor('beta2', ['adam', 'adamw']);
  onlyFor('rho', ['rmsprop']);
  onlyFor('historySize', ['lbfgs']);
  const defaultLr = { sgd: 0.01, adam: 0.001, adamw: 0.001, rmsprop: 0.01, lbfgs: 1 }[type];
  const momentum = num(o.momentum, 'momentum', 0, { min: 0, max: 1, maxExclusive: true });
  const nesterov = o.nesterov === undefined ? false : assertBoolean(o.nesterov, 'options.optimizer.nesterov');
  if (nesterov && momentum === 0) throw new RangeError('options.optimizer.nesterov needs a momentum above 0');
  return {
    kind: optimizerCode(type),
    learningRate: num(o.learningRate, 'learningRate', defaultLr, { min: 0, minExclusive: true }),
    momentum,
    nesterov,
    beta1: num(o.beta1, 'beta1', 0.9, { min: 0, max: 1, maxExclusive: true }),
    beta2: num(o.beta2, 'beta2', 0.999, { min: 0, max: 1, maxExclusive: true }),
    rho: num(o.rho, 'rho', 0.99, { min: 0, max: 1, maxExclusive: true }),
    epsilon: num(o.epsilon, 'epsilon', 1e-8, { min: 0, minExclusive: true }),
    weightDecay: num(o.weightDecay, 'weightDecay', type === 'adamw' ? 0.01 : 0, { min: 0 }),
    lbfgsHistory: o.historySize === undefined ? 10 : assertInteger(o.historySize, 'options.optimizer.historySize', 1, 1000),
  };
}

export interface NativeSchedule {
  kind: number;
  gamma: number;
  stepEpochs: number;
  cosineEpochs: number;
  warmupEpochs: number;
  minLearningRate: number;
  factor: number;
  patience: number;
  threshold: number;
  cooldown: number;
}

const SCHEDULES = ['constant', 'step', 'exponential', 'cosine', 'reduceOnPlateau'] as const;

/** `defaultCosineEpochs`: where a cosine schedule without `epochs` reaches its minimum. */
export function resolveSchedule(value: unknown, defaultCosineEpochs: number): NativeSchedule {
  const options: Record<string, unknown> =
    value === undefined ? { type: 'constant' } : typeof value === 'string' ? { type: value } : (value as Record<string, unknown>);
  assertObject(options, 'options.schedule');
  const type = assertOneOf(options.type, 'options.schedule.type', SCHEDULES);
  const allowed: Record<(typeof SCHEDULES)[number], string[]> = {
    constant: [],
    step: ['stepEpochs', 'gamma'],
    exponential: ['gamma'],
    cosine: ['epochs', 'minLearningRate'],
    reduceOnPlateau: ['factor', 'patience', 'minLearningRate', 'threshold', 'cooldown'],
  };
  assertKnownKeys(options, `options.schedule (${type})`, ['type', 'warmupEpochs', ...allowed[type]]);
  const s = options as Partial<ScheduleOptions> & Record<string, unknown>;
  const int = (v: unknown, name: string, fallback: number, min: number) =>
    v === undefined ? fallback : assertInteger(v, `options.schedule.${name}`, min, MAX_EPOCHS);
  const num = (v: unknown, name: string, fallback: number, bounds: NumberBounds) =>
    v === undefined ? fallback : assertNumber(v, `options.schedule.${name}`, bounds);
  return {
    kind: SCHEDULES.indexOf(type),
    gamma: num(s.gamma, 'gamma', type === 'exponential' ? 0.95 : 0.1, { min: 0, max: 1, minExclusive: true }),
    stepEpochs: int(s.stepEpochs, 'stepEpochs', 10, 1),
    cosineEpochs: int(s.epochs, 'epochs', Math.max(1, defaultCosineEpochs), 1),
    warmupEpochs: int(s.warmupEpochs, 'warmupEpochs', 0, 0),
    minLearningRate: num(s.minLearningRate, 'minLearningRate', 0, { min: 0 }),
    factor: num(s.factor, 'factor', 0.1, { min: 0, max: 1, minExclusive: true, maxExclusive: true }),
    patience: int(s.patience, 'patience', 10, 0),
    threshold: num(s.threshold, 'threshold', 1e-4, { min: 0, max: 1, maxExclusive: true }),
    cooldown: int(s.cooldown, 'cooldown', 0, 0),
  };
}

export interface NativeEarlyStopping {
  enabled: boolean;
  monitor: number;
  patience: number;
  minDelta: number;
  restoreBest: boolean;
}

const MONITORS: readonly MonitorName[] = ['loss', 'valLoss', 'accuracy', 'valAccuracy'];

export function resolveEarlyStopping(
  value: unknown,
  hasValidation: boolean,
  classification: boolean,
): NativeEarlyStopping {
  if (value === undefined || value === false) {
    return { enabled: false, monitor: 0, patience: 1, minDelta: 0, restoreBest: false };
  }
  const options: Record<string, unknown> = value === true ? {} : (value as Record<string, unknown>);
  assertObject(options, 'options.earlyStopping');
  assertKnownKeys(options, 'options.earlyStopping', ['monitor', 'patience', 'minDelta', 'restoreBest']);
  const e = options as Partial<EarlyStoppingOptions>;
  const monitor = e.monitor === undefined ? (hasValidation ? 'valLoss' : 'loss') : assertOneOf(e.monitor, 'options.earlyStopping.monitor', MONITORS);
  if (monitor.startsWith('val') && !hasValidation) {
    throw new RangeError(`options.earlyStopping.monitor '${monitor}' needs validationSplit or validationData`);
  }
  if (monitor.toLowerCase().includes('accuracy') && !classification) {
    throw new RangeError(`options.earlyStopping.monitor '${monitor}' needs a classification loss (mse has no accuracy)`);
  }
  return {
    enabled: true,
    monitor: MONITORS.indexOf(monitor),
    patience: e.patience === undefined ? 10 : assertInteger(e.patience, 'options.earlyStopping.patience', 1, MAX_EPOCHS),
    minDelta: e.minDelta === undefined ? 0 : assertNumber(e.minDelta, 'options.earlyStopping.minDelta', { min: 0 }),
    restoreBest: e.restoreBest === undefined ? false : assertBoolean(e.restoreBest, 'options.earlyStopping.restoreBest'),
  };
}

/** Per-feature mean and standard deviation (float64 accumulation); constant features get std 1. */
export function featureStatistics(x: Float32Array, rows: number, cols: number): { mean: Float32Array; std: Float32Array } {
  const mean = new Float64Array(cols);
  const sq = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) mean[c]! += x[r * cols + c]!;
  }
  for (let c = 0; c < cols; c++) mean[c]! /= rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const d = x[r * cols + c]! - mean[c]!;
      sq[c]! += d * d;
    }
  }
  const std = Float32Array.from(sq, (s) => {
    const v = Math.sqrt(s / rows);
    // A constant feature carries no information; dividing by ~0 would only amplify noise.
    return v > 1e-12 && Number.isFinite(v) ? v : 1;
  });
  return { mean: Float32Array.from(mean), std };
}
