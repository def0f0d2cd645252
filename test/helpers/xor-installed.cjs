// Run inside a project that installed the packed mlpstream (test/70-install.test.ts copies it
// there): trains the README's XOR network with the MLP it is given (from `import` or `require`)
// and prints one JSON line with the four predictions and the addon file that was loaded.
module.exports = async function xorInstalled(MLP) {
  const model = new MLP({
    inputs: 2,
    layers: [{ units: 4, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }],
    seed: 7,
  });
  const run = model.train(
    { x: [[0, 0], [0, 1], [1, 0], [1, 1]], y: [[0], [1], [1], [0]] },
    { epochs: 3000, batchSize: 'full', loss: 'binaryCrossEntropy', optimizer: { type: 'sgd', learningRate: 0.5 } },
  );
  for await (const _ of run);
  const predictions = Array.from(model.predict([[0, 0], [0, 1], [1, 0], [1, 1]]));
  // Native addons are cached by their path like any module, whichever way the package was loaded.
  const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'));
  console.log(JSON.stringify({ predictions, addons }));
};
