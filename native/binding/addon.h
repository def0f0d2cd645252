// Per-environment state of the addon. Node may load the addon into several environments
// (the main thread and worker threads); each gets its own AddonData, and nothing mutable
// is shared between them.
#pragma once

#include <napi.h>

#include <memory>
#include <set>

#include "core/gemm/kernels.h"
#include "core/util/thread_pool.h"

namespace mlpstream {

class SessionWrap;

struct AddonData {
  const KernelTable* kernels = nullptr;
  std::unique_ptr<ThreadPool> pool;
  Napi::FunctionReference model_constructor;
  Napi::FunctionReference session_constructor;
  // Live training sessions, so the environment's cleanup hook can stop and join their
  // threads before the environment goes away. Touched on the JS thread only.
  std::set<SessionWrap*> sessions;
};

AddonData& addon_data(Napi::Env env);

void init_model(Napi::Env env, Napi::Object exports, AddonData& data);
void init_session(Napi::Env env, Napi::Object exports, AddonData& data);
void init_blas(Napi::Env env, Napi::Object exports);
void init_testing(Napi::Env env, Napi::Object exports);

// Stops every running session of this environment (cleanup hook).
void stop_all_sessions(AddonData& data);

}  // namespace mlpstream
