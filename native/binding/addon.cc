// Addon entry point: per-environment instance data and its cleanup.
#include "binding/addon.h"

namespace mlpstream {

AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

namespace {

Napi::Value kernel_name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), addon_data(info.Env()).kernels->name);
}

Napi::Value get_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), addon_data(info.Env()).pool->size());
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->kernels = &select_kernels();
  data->pool = std::make_unique<ThreadPool>(default_thread_count());
  env.SetInstanceData<AddonData>(data);
  // Runs before the environment (main thread or a worker) goes away, while JS objects are
  // still valid: stop and join every training thread of this environment.
  env.AddCleanupHook([data]() { stop_all_sessions(*data); });

  init_model(env, exports, *data);
  init_session(env, exports, *data);
  init_blas(env, exports);
  init_testing(env, exports);
  exports.Set("kernelName", Napi::Function::New<kernel_name>(env, "kernelName"));
  exports.Set("getThreads", Napi::Function::New<get_threads>(env, "getThreads"));
  return exports;
}

}  // namespace

}  // namespace mlpstream

static Napi::Object InitMlpstream(Napi::Env env, Napi::Object exports) { return mlpstream::init(env, exports); }

NODE_API_MODULE(mlpstream, InitMlpstream)
