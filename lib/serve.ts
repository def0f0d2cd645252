// A small prediction server (node:http only) for one loaded model: `mlpstream serve` and
// examples/server both run it.
//
//   GET  /health   -> 200 {"status":"ok"}
//   GET  /model    -> 200 {"inputs":784,"outputs":10,"layers":[...],"classes":[...],...}
//   POST /predict  {"inputs": [x0, x1, ...]}            one sample
//                  {"inputs": [[x0, ...], [x0, ...]]}   a batch (up to MAX_BATCH rows)
//               -> 200 {"outputs": [[y0, ...], ...], "labels": ["cat", ...]}   (labels with classes)
//
// Every refusal is a 4xx with {"error": {"code": "...", "message": "..."}}: 400 bad JSON or
// request shape, 404 unknown path, 405 wrong method, 413 body or batch too large, 415 not JSON,
// 422 inputs that are not a model's worth of finite numbers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import type { MLP } from './model.js';

const MAX_BODY = 4 * 1024 * 1024; // bytes
const MAX_BATCH = 1024; // rows per request
const ASYNC_FROM = 64; // rows: larger batches run off the main thread (predictAsync)

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    // A refused body is not kept: node:http discards the rest of it after the answer (so that
    // clients still writing get the 413 instead of a broken pipe), within its requestTimeout.
    if (declared > MAX_BODY) {
      reject(new HttpError(413, 'body_too_large', `the body is ${declared} bytes; at most ${MAX_BODY}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
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
function parseInputs(body: unknown, width: number): { x: Float32Array; rows: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'bad_request', 'the body must be a JSON object {"inputs": [...]}');
  }
  const unknown = Object.keys(body).filter((k) => k !== 'inputs');
  if (unknown.length > 0) throw new HttpError(400, 'bad_request', `unknown field "${unknown[0]}"; the body is {"inputs": [...]}`);
  const inputs: unknown = (body as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new HttpError(400, 'bad_request', '"inputs" must be an array of numbers (one sample) or of arrays (a batch)');
  }
  const single = !Array.isArray(inputs[0]);
  const rows: unknown[] = single ? [inputs] : inputs;
  if (rows.length > MAX_BATCH) throw new HttpError(413, 'batch_too_large', `${rows.length} rows; at most ${MAX_BATCH} per request`);
  const x = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    const where = single ? 'inputs' : `inputs[${r}]`;
    if (!Array.isArray(row)) throw new HttpError(422, 'invalid_inputs', `${where} must be an array of ${width} numbers`);
    if (row.length !== width) throw new HttpError(422, 'invalid_inputs', `${where} has ${row.length} values; the model takes ${width}`);
    row.forEach((v: unknown, c) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        const shown = typeof v === 'number' ? String(v) : JSON.stringify(v);
        throw new HttpError(422, 'invalid_inputs', `${where}[${c}] is ${shown}; inputs must be finite numbers`);
      }
      x[r * width + c] = v;
    });
  });
  return { x, rows: rows.length };
}

/**
 * The class index of each of `rows` rows of outputs: the arg-max, or for a single output
 * 1 when it is >= 0.5 (the decision a sigmoid output stands for).
 */
export function predictedClasses(outputs: Float32Array, rows: number, width: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    if (width === 1) {
      out[r] = outputs[r]! >= 0.5 ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let j = 1; j < width; j++) if (outputs[r * width + j]! > outputs[r * width + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/** Each row's class label, when the model carries labels (a single output with one label names every row). */
function predictedLabels(model: MLP, outputs: Float32Array, rows: number): string[] | undefined {
  const classes = model.classes;
  if (!classes) return undefined;
  if (model.outputs === 1 && classes.length === 1) return new Array<string>(rows).fill(classes[0]!);
  return Array.from(predictedClasses(outputs, rows, model.outputs), (c) => classes[c]!);
}

/** A node:http server answering prediction requests for `model` (not yet listening). */
export function createPredictionServer(model: MLP): Server {
  const describe = {
    ...model.toJSON(),
    classes: model.classes ?? null,
    features: model.features ?? null,
    trainingSummary: model.trainingSummary ?? null,
  };
  return createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const routes: Record<string, string> = { '/health': 'GET', '/model': 'GET', '/predict': 'POST' };
      const route = routes[url.pathname];
      if (!route) throw new HttpError(404, 'not_found', `no route ${url.pathname}; try POST /predict, GET /model or GET /health`);
      if (req.method !== route) throw new HttpError(405, 'method_not_allowed', `${url.pathname} takes ${route}`, { allow: route });
      if (url.pathname === '/health') return send(res, 200, { status: 'ok' });
      if (url.pathname === '/model') return send(res, 200, describe);
      const type = String(req.headers['content-type'] ?? '');
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        throw new HttpError(415, 'unsupported_media_type', `send the request as application/json (got ${JSON.stringify(type || 'none')})`);
      }
      const text = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(e as Error).message}`);
      }
      const { x, rows } = parseInputs(body, model.inputs);
      const y = rows >= ASYNC_FROM ? await model.predictAsync(x) : model.predict(x);
      const outputs: number[][] = [];
      for (let r = 0; r < rows; r++) outputs.push(Array.from(y.subarray(r * model.outputs, (r + 1) * model.outputs)));
      const labels = predictedLabels(model, y, rows);
      return send(res, 200, labels ? { outputs, labels } : { outputs });
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

export interface ServeOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningServer {
  server: Server;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /**
   * Stops accepting connections, lets requests in flight finish (at most `graceMs`, default
   * 5000, after which their connections are cut) and resolves once the server has closed.
   */
  close(graceMs?: number): Promise<void>;
}

/** Starts a prediction server for `model`; resolves once it listens. */
export async function serveModel(model: MLP, options: ServeOptions = {}): Promise<RunningServer> {
  const server = createPredictionServer(model);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `http://${shown}:${port}`,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Keep-alive connections with no request in flight would hold close() open.
        server.closeIdleConnections();
      }),
  };
}
