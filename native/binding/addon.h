// Per-environment state of the addon. Node may load the addon into several environments
// (the main thread and worker threads); each gets its own AddonData, and nothing mutable
// is shared between them.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "core/gemm/gemm.h"
#include "core/gemm/kernels.h"
#include "core/util/thread_pool.h"

namespace mlpstream {

class SessionWrap;

// GEMM packing workspaces for the public BLAS calls, reused across calls so that a call does
// not pay fresh pages (about 10 us per 4 KiB page on these VMs) for its packing buffers.
// Shared with the async workers (shared_ptr), so a call still running when the environment
// goes away keeps what it uses.
class WorkspacePool {
 public:
  std::unique_ptr<GemmWorkspace> acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_.empty()) return std::make_unique<GemmWorkspace>();
    auto w = std::move(spare_.back());
    spare_.pop_back();
    return w;
  }
  void release(std::unique_ptr<GemmWorkspace> w) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_.size() < 4) spare_.push_back(std::move(w));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<GemmWorkspace>> spare_;
};

struct AddonData {
  const KernelTable* kernels = nullptr;
  // This environment's compute threads: created once (sized to the physical cores, or by
  // setThreads), shared by trainings, predictions and BLAS calls; joined by the cleanup hook.
  std::shared_ptr<ThreadPool> pool;
  std::shared_ptr<WorkspacePool> blas_workspaces = std::make_shared<WorkspacePool>();
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
