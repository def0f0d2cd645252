// Read by pkg-prebuilds (loader and verify step) to find the addon binary.
module.exports = {
  name: 'mlpstream',
  napi_versions: [8],
};
