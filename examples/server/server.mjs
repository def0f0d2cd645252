#!/usr/bin/env node
// A small prediction server: loads one model file and answers JSON prediction requests.
//
//   node examples/server/server.mjs MODEL.safetensors [--port 8080] [--host 127.0.0.1]
//
//   GET  /health   -> 200 {"status":"ok"}
//   GET  /model    -> 200 {"inputs":784,"outputs":10,"layers":[...],"classes":[...],...}
//   POST /predict  {"inputs": [x0, x1, ...]}            one sample
//                  {"inputs": [[x0, ...], [x0, ...]]}   a batch (up to MAX_BATCH rows)
//               -> 200 {"outputs": [[y0, ...], ...], "labels": ["cat", ...]}   (labels with classes)
//
// Every refusal is a 4xx with {"error": {"code": "...", "message": "..."}}: 400 bad JSON or
// request shape, 404 unknown path, 405 wrong method, 413 body or batch too large, 415 not JSON,
// 422 inputs that are not a model's worth of finite numbers. node:http only.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { loadModel } from 'mlpstream';

const MAX_BODY = 4 * 1024 * 1024; // bytes
const MAX_BATCH = 1024; // rows per request
const ASYNC_FROM = 64; // rows: larger batches run off the main thread (predictAsync)

class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    // A refused body is not kept: node:http discards the rest of it after the answer (so that
    // clients still writing get the 413 instead of a broken pipe), within its requestTimeout.
    if (declared > MAX_BODY) {
      reject(new HttpError(413, 'body_too_large', `the body is ${declared} bytes; at most ${MAX_BODY}`));
      return;
    }
    const chunks = [];
    let size = 0;
    const onData = (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.off('data', onData);
        req.resume();
        reject(new HttpError(413, 'body_too_large', `the body is over ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request's rows as one flat Float32Array, or an HttpError saying what is wrong. */
function parseInputs(body, width) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'bad_request', 'the body must be a JSON object {"inputs": [...]}');
  }
  const unknown = Object.keys(body).filter((k) => k !== 'inputs');
  if (unknown.length > 0) throw new HttpError(400, 'bad_request', `unknown field "${unknown[0]}"; the body is {"inputs": [...]}`);
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new HttpError(400, 'bad_request', '"inputs" must be an array of numbers (one sample) or of arrays (a batch)');
  }
  const single = !Array.isArray(inputs[0]);
  const rows = single ? [inputs] : inputs;
  if (rows.length > MAX_BATCH) throw new HttpError(413, 'batch_too_large', `${rows.length} rows; at most ${MAX_BATCH} per request`);
  const x = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    const where = single ? 'inputs' : `inputs[${r}]`;
    if (!Array.isArray(row)) throw new HttpError(422, 'invalid_inputs', `${where} must be an array of ${width} numbers`);
    if (row.length !== width) throw new HttpError(422, 'invalid_inputs', `${where} has ${row.length} values; the model takes ${width}`);
    row.forEach((v, c) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const shown = typeof v === 'number' ? String(v) : JSON.stringify(v);
        throw new HttpError(422, 'invalid_inputs', `${where}[${c}] is ${shown}; inputs must be finite numbers`);
      }
      x[r * width + c] = v;
    });
  });
  return { x, rows: rows.length };
}

function labelsOf(model, outputs, rows) {
  const classes = model.classes;
  if (!classes) return undefined;
  const k = model.outputs;
  const labels = [];
  for (let r = 0; r < rows; r++) {
    if (k === 1) {
      labels.push(classes.length === 2 ? classes[outputs[r] >= 0.5 ? 1 : 0] : classes[0]);
      continue;
    }
    let best = 0;
    for (let j = 1; j < k; j++) if (outputs[r * k + j] > outputs[r * k + best]) best = j;
    labels.push(classes[best]);
  }
  return labels;
}

export function createPredictionServer(model) {
  const describe = { ...model.toJSON(), classes: model.classes ?? null, trainingSummary: model.trainingSummary ?? null };
  return createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = { '/health': 'GET', '/model': 'GET', '/predict': 'POST' }[url.pathname];
      if (!route) throw new HttpError(404, 'not_found', `no route ${url.pathname}; try POST /predict, GET /model or GET /health`);
      if (req.method !== route) throw new HttpError(405, 'method_not_allowed', `${url.pathname} takes ${route}`, { allow: route });
      if (url.pathname === '/health') return send(res, 200, { status: 'ok' });
      if (url.pathname === '/model') return send(res, 200, describe);
      const type = String(req.headers['content-type'] ?? '');
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        throw new HttpError(415, 'unsupported_media_type', `send the request as application/json (got ${JSON.stringify(type || 'none')})`);
      }
      const text = await readBody(req);
      let body;
      try {
        body = JSON.parse(text);
      } catch (e) {
        throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${e.message}`);
      }
      const { x, rows } = parseInputs(body, model.inputs);
      const y = rows >= ASYNC_FROM ? await model.predictAsync(x) : model.predict(x);
      const outputs = [];
      for (let r = 0; r < rows; r++) outputs.push(Array.from(y.subarray(r * model.outputs, (r + 1) * model.outputs)));
      const reply = { outputs };
      const labels = labelsOf(model, y, rows);
      if (labels) reply.labels = labels;
      return send(res, 200, reply);
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
      } else {
        console.error(error);
        send(res, 500, { error: { code: 'internal', message: 'internal error' } });
      }
    }
  });
}

async function main() {
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
  const server = createPredictionServer(model);
  server.listen(Number(values.port), values.host, () => {
    const { address, port } = server.address();
    console.log(`listening on http://${address}:${port} (model: ${model.inputs} inputs, ${model.outputs} outputs)`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
