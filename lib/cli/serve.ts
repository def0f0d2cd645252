// mlpstream serve: the prediction server (lib/serve.ts) for one model file, until SIGINT/SIGTERM.
import { serveModel } from '../index.js';
import { integerFlag, parseCommand, type CommandSpec } from './args.js';
import { openModel } from './load.js';

export const serveSpec: CommandSpec = {
  name: 'serve',
  summary:
    'Serves a model over HTTP: GET /health, GET /model, POST /predict {"inputs": [...] or [[...], ...]}.\n' +
    'Bad requests get a JSON 4xx answer saying what is wrong. SIGINT or SIGTERM stops it gracefully\n' +
    '(requests in flight finish). --port 0 picks a free port; the address is printed.',
  positionals: ['model.mlp'],
  flags: {
    port: { type: 'string', value: '<n>', help: 'port (default 8080; 0: any free one)' },
    host: { type: 'string', value: '<address>', help: 'address to listen on (default 127.0.0.1)' },
  },
  examples: ["mlpstream serve iris.mlp --port 8080   # then: curl -s localhost:8080/predict -H 'content-type: application/json' -d '{\"inputs\": [5.1, 3.5, 1.4, 0.2]}'"],
};

export async function serve(argv: string[]): Promise<number> {
  const parsed = parseCommand(serveSpec, argv);
  if (!parsed) return 0;
  const port = integerFlag(parsed.values.port, 'port', 8080, 0, 65535);
  const host = typeof parsed.values.host === 'string' && parsed.values.host !== '' ? parsed.values.host : '127.0.0.1';
  const model = await openModel(parsed.positionals[0]!);
  const running = await serveModel(model, { port, host });
  console.log(`listening on ${running.url} (model: ${model.inputs} inputs, ${model.outputs} outputs)`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await running.close();
  console.log(`${signal}: stopped`);
  return 0;
}
