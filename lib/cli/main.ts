#!/usr/bin/env node
// The mlpstream command: `mlpstream <command> [arguments]`. Every failure the user can cause
// (bad flags, bad CSV, a file that is not a model...) ends with one line on stderr and a
// non-zero exit code, never a stack trace; a run that is interrupted exits with 130.
import { MlpstreamError } from '../index.js';
import { CliError, UsageError, type CommandSpec } from './args.js';
import { demo, demoSpec } from './demo.js';
import { exportOnnx, exportOnnxSpec } from './export-onnx.js';
import { inspect, inspectSpec } from './inspect.js';
import { predict, predictSpec } from './predict.js';
import { serve, serveSpec } from './serve.js';
import { train, trainSpec } from './train.js';

const COMMANDS: [CommandSpec, (argv: string[]) => Promise<number>][] = [
  [trainSpec, train],
  [predictSpec, predict],
  [inspectSpec, inspect],
  [serveSpec, serve],
  [exportOnnxSpec, exportOnnx],
  [demoSpec, demo],
];

function usage(): string {
  return [
    'usage: mlpstream <command> [arguments] [options]',
    '',
    'commands:',
    ...COMMANDS.map(([spec]) => `  ${spec.name.padEnd(12)}${spec.summary.split('\n')[0]}`),
    '',
    "'mlpstream <command> --help' shows a command's options and an example.",
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find(([spec]) => spec.name === name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; the commands are ${COMMANDS.map(([s]) => s.name).join(', ')}`);
  return command[1](rest);
}

/** One line for the user; the stack only when MLPSTREAM_DEBUG is set (or for our own bugs). */
function report(error: unknown): number {
  const e = error as Error;
  const expected =
    e instanceof CliError ||
    e instanceof MlpstreamError ||
    e instanceof RangeError ||
    e instanceof TypeError ||
    (typeof (e as NodeJS.ErrnoException)?.code === 'string' && (e as NodeJS.ErrnoException).syscall !== undefined);
  const line = String(e?.message ?? e).split('\n')[0];
  process.stderr.write(`mlpstream: ${line}\n`);
  if (process.env.MLPSTREAM_DEBUG || !expected) process.stderr.write(`${e?.stack ?? ''}\n`);
  return e instanceof CliError ? e.exitCode : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
