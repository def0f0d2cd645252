// Addon entry point: per-environment instance data and its cleanup.
#include "binding/addon.h"

#include "binding/convert.h"

namespace mlpstream {

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

namespace {

Napi::Value kernel_name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), addon_data(info.Env()).kernels->name);
}

Napi::Value get_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), addon_data(info.Env()).pool->size());
}

// setThreads(n): resizes this environment's pool (waits for a running product to finish).
// Trainings already running keep the packing buffers they reserved and use at most that many.
Napi::Value set_threads(const Napi::CallbackInfo& info) {
  const auto n = convert::integer(info[0], "threads", 1, 256);
  addon_data(info.Env()).pool->resize(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value default_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), default_thread_count());
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->kernels = &select_kernels();
  data->pool = std::make_shared<ThreadPool>(default_thread_count());
  env.SetInstanceData<AddonData>(data);
  // Runs before the environment (main thread or a worker) goes away, while JS objects are
  // still valid: stop and join every training thread of this environment.
  env.AddCleanupHook([data]() {
    stop_all_sessions(*data);
    // Join the pool's threads now; the pool object stays (size 1, inline) for anything that
    // still holds it until the environment's data is freed.
    data->pool->resize(1);
  });

  init_model(env, exports, *data);
  init_session(env, exports, *data);
  init_blas(env, exports);
  init_testing(env, exports);
  exports.Set("kernelName", Napi::Function::New<kernel_name>(env, "kernelName"));
  exports.Set("getThreads", Napi::Function::New<get_threads>(env, "getThreads"));
  exports.Set("setThreads", Napi::Function::New<set_threads>(env, "setThreads"));
  exports.Set("defaultThreads", Napi::Function::New<default_threads>(env, "defaultThreads"));
  return exports;
}

}  // namespace

}  // namespace mlpstream

static Napi::Object InitMlpstream(Napi::Env env, Napi::Object exports) { return mlpstream::init(env, exports); }

NODE_API_MODULE(mlpstream, InitMlpstream)
