// npm's install step. A published package carries prebuilt binaries (prebuilds/, one per
// platform and architecture): when one matches, there is nothing to do. Otherwise (another
// platform, a git clone, or --build-from-source) the addon is built with cmake-js, after one
// line saying so; and if the tools for that are missing, the error names them and how to get them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const prebuilds = require('pkg-prebuilds');
const which = require('which');
const options = require('../binding-options.cjs');

const root = path.join(__dirname, '..');
const tag = 'mlpstream:';

// npm turns `--build-from-source` into npm_config_build_from_source=true; like prebuild-install,
// the value may also name the packages to build (`--build-from-source=mlpstream`).
function buildFromSourceRequested() {
  if (process.argv.includes('--build-from-source')) return true;
  const value = process.env.npm_config_build_from_source;
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  return value === 'true' || value === '1' || value.split(',').includes(options.name);
}

// The name pkg-prebuilds looks for, as a person would say it: linux-arm64-musl (Node-API 8).
function target() {
  const platform = process.env.npm_config_platform || process.platform;
  const arch = process.env.npm_config_arch || process.arch;
  const musl = platform === 'linux' && fs.existsSync('/etc/alpine-release');
  return `${platform}-${arch}${musl ? '-musl' : ''} (Node-API ${options.napi_versions.join(', ')})`;
}

function onPath(...names) {
  return names.some((name) => which.sync(name, { nothrow: true }) !== null);
}

// What cmake-js needs and does not check clearly itself. On Windows it finds Visual Studio on
// its own (not through PATH), so only CMake is checked there.
function missingTools() {
  const missing = [];
  if (!onPath('cmake')) missing.push('CMake (3.19 or newer)');
  if (process.platform !== 'win32') {
    if (!onPath('g++', 'clang++')) missing.push('a C++17 compiler (g++ 12+ or clang++)');
    if (!onPath('make', 'ninja')) missing.push('make or ninja');
  }
  return missing;
}

function howToGetThem() {
  if (process.platform === 'darwin') {
    return ['  macOS: xcode-select --install   (the compiler and make), then: brew install cmake'];
  }
  if (process.platform === 'win32') {
    return [
      "  Windows: Visual Studio 2022 Build Tools with the 'C++ Clang tools for Windows' component",
      '  (https://visualstudio.microsoft.com/visual-cpp-build-tools/: "Desktop development with C++",',
      '  then that optional component), and CMake (winget install Kitware.CMake)',
    ];
  }
  return [
    '  Debian/Ubuntu: sudo apt-get install cmake g++ make',
    '  Fedora/RHEL:   sudo dnf install cmake gcc-c++ make',
    '  Alpine:        apk add cmake g++ make',
  ];
}

function fail(lines) {
  console.error([...lines, ...howToGetThem()].join('\n'));
  process.exit(1);
}

// A prebuild that exists may still not load here (a Linux older than the build machine's glibc
// or libstdc++): try it, unless npm was asked to install for another platform or architecture.
function loadError(file) {
  const env = process.env;
  if ((env.npm_config_platform || process.platform) !== process.platform) return null;
  if ((env.npm_config_arch || process.arch) !== process.arch) return null;
  try {
    require(file);
    return null;
  } catch (error) {
    return String(error.message).split('\n')[0];
  }
}

function reasonToBuild() {
  if (buildFromSourceRequested()) return `--build-from-source given; building ${target()}`;
  const prebuild = prebuilds.resolve(root, options, true, false);
  if (!prebuild) return `no prebuilt binary for ${target()}; building`;
  const error = loadError(prebuild);
  return error === null ? null : `the prebuilt binary for ${target()} does not load here (${error}); building`;
}

const reason = reasonToBuild();
if (reason === null) process.exit(0);
console.error(`${tag} ${reason} from source with cmake-js`);

const missing = missingTools();
if (missing.length > 0) {
  fail([`${tag} cannot build from source, not found on PATH: ${missing.join('; ')}. Install them, then reinstall:`]);
}

const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
// On Windows the compiler is clang-cl (Visual Studio's ClangCL toolset): cl.exe cannot compile the kernels.
const toolset = process.platform === 'win32' ? ['--toolset', 'ClangCL'] : [];
const build = spawnSync(process.execPath, [cmakeJs, 'compile', ...toolset], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  const compiler = process.platform === 'win32' ? "clang-cl (Visual Studio 2022's ClangCL toolset)" : 'a C++17 compiler (GCC 12+ or Clang)';
  fail([`${tag} the source build failed (cmake-js output above). It needs CMake 3.19+ and ${compiler}:`]);
}
