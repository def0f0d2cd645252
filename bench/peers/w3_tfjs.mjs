// W3 with TensorFlow.js (the pure-JS "cpu" backend; tfjs-node cannot install here): 2-4-1 XOR,
// tanh hidden, sigmoid output with BCE, full-batch SGD lr 0.5, one optimizer.minimize per
// epoch; each rep a fresh model, 100 warm-up steps, then 10,000 timed steps.
// Prints: system,workload,threads,median_ms,min,max,us_per_step,final_loss
import * as tf from '@tensorflow/tfjs';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1] || 3);
await tf.setBackend('cpu');
const x = tf.tensor2d([[0, 0], [0, 1], [1, 0], [1, 1]]);
const y = tf.tensor2d([[0], [1], [1], [0]]);
const times = [];
let loss = NaN;
for (let r = 0; r < reps; r++) {
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [2], units: 4, activation: 'tanh' }), tf.layers.dense({ units: 1, activation: 'sigmoid' })],
  });
  const optimizer = tf.train.sgd(0.5);
  const step = () => optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x)), true);
  for (let i = 0; i < 100; i++) tf.dispose(step());
  const t0 = performance.now();
  let last;
  for (let i = 0; i < 10000; i++) {
    tf.dispose(last);
    last = step();
  }
  loss = last.dataSync()[0];
  times.push(performance.now() - t0);
  tf.dispose(last);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(['tfjs-cpu', 'W3', 1, median.toFixed(2), times[0].toFixed(2), times.at(-1).toFixed(2), ((median * 1000) / 10000).toFixed(3), loss].join(','));
