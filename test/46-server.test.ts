// examples/server: started as users start it (node examples/server/server.mjs MODEL --port 0)
// against the built package; 200 answers match predict, and every bad request gets a clear 4xx.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MLP } from '../lib/index.js';
import { freshDist, repoRoot } from './helpers/dist.js';
import { randomArray, rng } from './helpers/reference.js';

const script = path.join(repoRoot, 'examples', 'server', 'server.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'mlpstream-server-'));
const modelFile = path.join(dir, 'iris.safetensors');
const model = new MLP({
  inputs: 4,
  layers: [{ units: 8, activation: 'tanh' }, { units: 3, activation: 'softmax' }],
  seed: 6,
  classes: ['setosa', 'versicolor', 'virginica'],
});
let server: ChildProcess;
let base = '';

function start(file: string): { child: ChildProcess; url: Promise<string>; stderr: () => string } {
  const child = spawn(process.execPath, [script, file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

beforeAll(async () => {
  freshDist();
  await model.save(modelFile);
  const started = start(modelFile);
  server = started.child;
  base = await started.url;
});

afterAll(async () => {
  if (server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
});

async function post(body: string, contentType = 'application/json'): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, json: await res.json() };
}

describe('examples/server', () => {
  it('GET /health and GET /model', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    const info = await (await fetch(`${base}/model`)).json();
    expect(info).toMatchObject({ inputs: 4, outputs: 3, classes: ['setosa', 'versicolor', 'virginica'] });
  });

  it('POST /predict: one sample and a batch, the same numbers as predict, with labels', async () => {
    const r = rng(3);
    const rows = Array.from({ length: 5 }, () => Array.from(randomArray(r, 4, 2)));
    const want = model.predict(rows);
    const one = await post(JSON.stringify({ inputs: rows[0] }));
    expect(one.status).toBe(200);
    expect(one.json.outputs).toHaveLength(1);
    one.json.outputs[0].forEach((v: number, j: number) => expect(v).toBeCloseTo(want[j]!, 6));
    const batch = await post(JSON.stringify({ inputs: rows }));
    expect(batch.status).toBe(200);
    expect(batch.json.outputs.flat()).toHaveLength(15);
    batch.json.outputs.flat().forEach((v: number, i: number) => expect(v).toBeCloseTo(want[i]!, 6));
    const best = rows.map((_, i) => ['setosa', 'versicolor', 'virginica'][[0, 1, 2].reduce((b, j) => (want[i * 3 + j]! > want[i * 3 + b]! ? j : b), 0)]);
    expect(batch.json.labels).toEqual(best);
    // A large batch runs off the main thread and still answers the same.
    const big = Array.from({ length: 200 }, () => Array.from(randomArray(r, 4, 2)));
    const bigReply = await post(JSON.stringify({ inputs: big }));
    expect(bigReply.status).toBe(200);
    const bigWant = model.predict(big);
    bigReply.json.outputs.flat().forEach((v: number, i: number) => expect(v).toBeCloseTo(bigWant[i]!, 6));
  });

  it.each([
    ['invalid JSON', '{"inputs": [1, 2', 400, 'invalid_json', /not valid JSON/],
    ['not an object', '[1, 2, 3, 4]', 400, 'bad_request', /must be a JSON object/],
    ['no inputs', '{}', 400, 'bad_request', /"inputs" must be an array/],
    ['an unknown field', '{"inputs": [1, 2, 3, 4], "x": 1}', 400, 'bad_request', /unknown field "x"/],
    ['wrong width', '{"inputs": [1, 2, 3]}', 422, 'invalid_inputs', /inputs has 3 values; the model takes 4/],
    ['a row of the wrong width', '{"inputs": [[1, 2, 3, 4], [1, 2]]}', 422, 'invalid_inputs', /inputs\[1\] has 2 values/],
    ['a string', '{"inputs": [1, "2", 3, 4]}', 422, 'invalid_inputs', /inputs\[1\] is "2"; inputs must be finite numbers/],
    ['null (JSON has no NaN)', '{"inputs": [1, null, 3, 4]}', 422, 'invalid_inputs', /inputs\[1\] is null/],
    ['a number JSON reads as Infinity', '{"inputs": [1, 1e999, 3, 4]}', 422, 'invalid_inputs', /inputs\[1\] is Infinity; inputs must be finite numbers/],
    ['a mixed batch', '{"inputs": [[1, 2, 3, 4], 5]}', 422, 'invalid_inputs', /inputs\[1\] must be an array of 4 numbers/],
  ])('%s -> %i', async (_name, body, status, code, message) => {
    const reply = await post(body);
    expect(reply.status).toBe(status);
    expect(reply.json.error.code).toBe(code);
    expect(reply.json.error.message).toMatch(message);
  });

  it('too many rows -> 413; too large a body -> 413; not JSON -> 415', async () => {
    const rows = await post(JSON.stringify({ inputs: Array.from({ length: 1025 }, () => [0, 0, 0, 0]) }));
    expect(rows.status).toBe(413);
    expect(rows.json.error.message).toMatch(/1025 rows; at most 1024/);
    const body = await post('{"inputs": [' + '0,'.repeat(3_000_000) + '0]}');
    expect(body.status).toBe(413);
    expect(body.json.error.code).toBe('body_too_large');
    const text = await post('inputs=1,2,3,4', 'text/plain');
    expect(text.status).toBe(415);
    expect(text.json.error.message).toMatch(/application\/json/);
  });

  it('unknown path -> 404; wrong method -> 405 with Allow', async () => {
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const wrong = await fetch(`${base}/predict`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('a file that is not a model: the server refuses to start, saying why', async () => {
    const bad = path.join(dir, 'bad.safetensors');
    writeFileSync(bad, 'not a model');
    const started = start(bad);
    await expect(started.url).rejects.toThrow(/exited with 1: cannot serve .*bad.safetensors: ModelFormatError: /);
  });
});
