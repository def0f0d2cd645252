// W3 with brain.js (plain JavaScript): 2-4-1 XOR, tanh, lr 0.5, 10,000 iterations over the four
// samples; each rep a fresh network, 100 warm-up iterations, then the timed 10,000. brain.js
// updates after every sample (online), not once per full batch: the same arithmetic per
// epoch, with four small updates instead of one. Prints: system,workload,threads,median_ms,min,max,us_per_step,final_error
import brain from 'brain.js';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1] || 5);
const data = [
  { input: [0, 0], output: [0] },
  { input: [0, 1], output: [1] },
  { input: [1, 0], output: [1] },
  { input: [1, 1], output: [0] },
];
const times = [];
let error = NaN;
for (let r = 0; r < reps; r++) {
  const net = new brain.NeuralNetwork({ hiddenLayers: [4], activation: 'tanh', learningRate: 0.5 });
  net.train(data, { iterations: 100, errorThresh: 1e-12, log: false });
  const t0 = performance.now();
  const result = net.train(data, { iterations: 10000, errorThresh: 1e-12, log: false, learningRate: 0.5 });
  times.push(performance.now() - t0);
  error = result.error;
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(['brain.js', 'W3', 1, median.toFixed(2), times[0].toFixed(2), times.at(-1).toFixed(2), ((median * 1000) / 10000).toFixed(3), error].join(','));
