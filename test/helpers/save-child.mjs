// A separate process for the save tests (test/43-atomic-save.test.ts), using the built package.
//   node save-child.mjs once TARGET        one small save; prints the outcome as JSON
//   node save-child.mjs loop TARGET UNITS  saves a large model again and again, printing
//                                          "saving N" before and "saved N" after each save
import { MLP, ModelFileError } from '../../dist/index.js';

const [mode, target, units = '4096'] = process.argv.slice(2);
if (mode === 'once') {
  const model = new MLP({ inputs: 3, layers: [{ units: 2 }] });
  try {
    await model.save(target);
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message, isModelFileError: e instanceof ModelFileError }));
  }
} else if (mode === 'loop') {
  const n = Number(units);
  const model = new MLP({ inputs: n, layers: [{ units: n, activation: 'tanh' }, { units: 8, activation: 'linear' }], seed: 1 });
  for (let i = 0; ; i++) {
    model.trainingSummary = { epochs: i };
    process.stdout.write(`saving ${i}\n`);
    await model.save(target);
    process.stdout.write(`saved ${i}\n`);
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
