// Per-environment state of the addon. Node may load the addon into several environments
// (the main thread and worker threads); each gets its own AddonData, and nothing mutable
// is shared between them.
#pragma once

#include <napi.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "core/gemm/gemm.h"
#include "core/gemm/kernels.h"
#include "core/util/aligned_buffer.h"
#include "core/util/thread_pool.h"

namespace mlpstream {

class SessionWrap;

// Spare objects of one kind, reused across calls so that a call does not pay fresh pages
// (about 10 us per 4 KiB page on these VMs) for its buffers: GEMM packing workspaces of the
// public BLAS calls, and the input copies of the async calls. Shared with the async workers
// (shared_ptr), so a call still running when the environment goes away keeps what it uses.
template <typename T>
class SparePool {
 public:
  std::unique_ptr<T> acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_.empty()) return std::make_unique<T>();
    auto object = std::move(spare_.back());
    spare_.pop_back();
    return object;
  }
  // Keeps a few (as many as calls that usually overlap); the rest are freed.
  void release(std::unique_ptr<T> object) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_.size() < kKept) spare_.push_back(std::move(object));
  }

 private:
  static constexpr std::size_t kKept = 4;
  std::mutex mutex_;
  std::vector<std::unique_ptr<T>> spare_;
};

using WorkspacePool = SparePool<GemmWorkspace>;
using StagingPool = SparePool<AlignedBuffer<float>>;

// A buffer of `count` floats from a StagingPool (a copy of `source` when given), returned to
// the pool when this goes.
class Staged {
 public:
  Staged(std::shared_ptr<StagingPool> pool, std::size_t count, const float* source = nullptr)
      : pool_(std::move(pool)), buffer_(pool_->acquire()) {
    buffer_->resize(count);
    if (source != nullptr && count != 0) std::memcpy(buffer_->data(), source, count * sizeof(float));
  }
  Staged(const Staged&) = delete;
  Staged& operator=(const Staged&) = delete;
  ~Staged() { pool_->release(std::move(buffer_)); }
  float* data() { return buffer_->data(); }
  std::size_t size() const { return buffer_->size(); }

 private:
  std::shared_ptr<StagingPool> pool_;
  std::unique_ptr<AlignedBuffer<float>> buffer_;
};

struct AddonData {
  const KernelTable* kernels = nullptr;
  // This environment's compute threads: created once (sized to the physical cores, or by
  // setThreads), shared by trainings, predictions and BLAS calls; joined by the cleanup hook.
  std::shared_ptr<ThreadPool> pool;
  std::shared_ptr<WorkspacePool> blas_workspaces = std::make_shared<WorkspacePool>();
  // Input copies of predictAsync and sgemmAsync calls.
  std::shared_ptr<StagingPool> staging = std::make_shared<StagingPool>();
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
