#!/usr/bin/env node
// The prediction server in a program of your own: loadModel, then serveModel (lib/serve.ts),
// the same server the `mlpstream serve` command runs.
//
//   node examples/server/server.mjs MODEL.safetensors [--port 8080] [--host 127.0.0.1]
//
// createPredictionServer(model) gives the bare node:http Server instead, to listen or mount
// as you like. The routes and answers are described in README.md next to this file.
import { parseArgs } from 'node:util';

import { loadModel, serveModel } from 'mlpstream';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' } },
});
if (positionals.length !== 1) {
  console.error('usage: node examples/server/server.mjs MODEL.safetensors [--port 8080] [--host 127.0.0.1]');
  process.exit(2);
}
let model;
try {
  model = await loadModel(positionals[0]);
} catch (error) {
  console.error(`cannot serve ${positionals[0]}: ${error.name}: ${error.message}`);
  process.exit(1);
}
const running = await serveModel(model, { port: Number(values.port), host: values.host });
console.log(`listening on ${running.url} (model: ${model.inputs} inputs, ${model.outputs} outputs)`);
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => running.close().then(() => process.exit(0)));
