import { MLP } from 'mlpstream';
const model = new MLP({ inputs: 2, layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }], seed: 7 });
const t0 = performance.now();
const run = model.train({ x: [[0,0],[0,1],[1,0],[1,1]], y: [[0],[1],[1],[0]] },
  { epochs: 10000, batchSize: 'full', loss: 'binaryCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.5 } });
let last;
for await (const m of run) { last = m; if (m.epoch % 2000 === 0) console.log(m.epoch, m.loss.toFixed(5), m.accuracy); }
console.log('ms', performance.now() - t0, JSON.stringify(last));
console.log(model.predict([[0,0],[0,1],[1,0],[1,1]]));
