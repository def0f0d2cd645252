#include "core/util/thread_pool.h"

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <emmintrin.h>
#include <xmmintrin.h>
#define MLPSTREAM_POOL_X86 1
#endif
#if defined(__linux__)
#include <sched.h>
#endif
#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX  // windows.h would otherwise define min and max as macros
#endif
#include <windows.h>

#include <vector>
#endif

namespace mlpstream {

namespace {

// How long an idle worker spins before it sleeps. A training step calls the GEMM every
// 10-100 us with a little element-wise work between; waking a sleeping thread costs 5-50 us
// on these VMs. Longer than one step's gap, short enough to be free when idle.
constexpr auto kSpin = std::chrono::microseconds(300);
// The first part of that spin is a pause loop; after it the worker yields between polls, so
// that on an oversubscribed machine it does not take time from the thread it is waiting for.
constexpr auto kSpinHot = std::chrono::microseconds(40);

inline void cpu_relax() {
#if defined(MLPSTREAM_POOL_X86)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

inline unsigned read_csr() {
#if defined(MLPSTREAM_POOL_X86)
  return _mm_getcsr();
#else
  return 0;
#endif
}

inline void write_csr(unsigned csr) {
#if defined(MLPSTREAM_POOL_X86)
  _mm_setcsr(csr);
#else
  (void)csr;
#endif
}

constexpr std::uint64_t kIndexMask = 0xffffffffull;

}  // namespace

ThreadPool::ThreadPool(int threads) { start_workers(threads < 1 ? 1 : threads); }

ThreadPool::~ThreadPool() {
  std::lock_guard<std::mutex> lock(resize_mutex_);
  stop_workers();
}

void ThreadPool::start_workers(int threads) {
  stop_.store(false);
  size_.store(threads, std::memory_order_relaxed);
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_main(t); });
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void ThreadPool::resize(int threads) {
  if (threads < 1) threads = 1;
  std::lock_guard<std::mutex> lock(resize_mutex_);
  // Take the pool as a job would, so no job runs while the workers change.
  bool expected = false;
  while (!busy_.compare_exchange_weak(expected, true, std::memory_order_acquire)) {
    expected = false;
    std::this_thread::yield();
  }
  if (threads != size()) {
    stop_workers();
    start_workers(threads);
  }
  busy_.store(false, std::memory_order_release);
}

void ThreadPool::run_tasks(std::uint64_t generation, int thread) {
  std::uint64_t seen = claim_.load(std::memory_order_acquire);
  while ((seen >> 32) == generation) {
    const std::uint64_t task = seen & kIndexMask;
    if (task >= static_cast<std::uint64_t>(tasks_.load(std::memory_order_relaxed))) return;
    const TaskRef* fn = fn_.load(std::memory_order_relaxed);
    if (claim_.compare_exchange_weak(seen, seen + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      (*fn)(static_cast<int>(task), thread);
      done_.fetch_add(1, std::memory_order_release);
      seen = claim_.load(std::memory_order_acquire);
    }
  }
}

void ThreadPool::parallel_for(int tasks, TaskRef fn) {
  if (tasks <= 0) return;
  bool expected = false;
  if (tasks == 1 || size() == 1 || !busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
    // One task, one thread, or the pool is running another caller's job: run inline.
    for (int t = 0; t < tasks; ++t) fn(t, 0);
    return;
  }
  tasks_.store(tasks, std::memory_order_relaxed);
  fn_.store(&fn, std::memory_order_relaxed);
  csr_.store(read_csr(), std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const std::uint64_t generation = (claim_.load(std::memory_order_relaxed) >> 32) + 1;
  claim_.store(generation << 32, std::memory_order_seq_cst);  // publishes the job
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(sleep_mutex_); }
    wake_.notify_all();
  }
  run_tasks(generation, 0);
  // Wait for the tasks other threads claimed. Spin first (they take microseconds), then yield,
  // so that on an oversubscribed machine a worker sharing our core gets to finish.
  for (int polls = 0; done_.load(std::memory_order_acquire) < tasks; ++polls) {
    if (polls < 4096) cpu_relax();
    else std::this_thread::yield();
  }
  // Close the job so that no late worker can claim an index of it.
  claim_.store((generation << 32) | kIndexMask, std::memory_order_release);
  busy_.store(false, std::memory_order_release);
}

void ThreadPool::worker_main(int index) {
  std::uint64_t last = claim_.load(std::memory_order_acquire) >> 32;
  unsigned csr = read_csr();
  for (;;) {
    // Wait for a new generation: spin, then sleep.
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    int polls = 0;
    std::uint64_t generation = claim_.load(std::memory_order_acquire) >> 32;
    const auto yield_after = std::chrono::steady_clock::now() + kSpinHot;
    bool hot = true;
    while (generation == last && !stop_.load(std::memory_order_relaxed)) {
      if (hot) cpu_relax();
      else std::this_thread::yield();  // still responsive, but a thread sharing our core runs
      if (++polls == 256 || !hot) {
        polls = 0;
        const auto now = std::chrono::steady_clock::now();
        hot = now < yield_after;
        if (now > spin_until) {
          std::unique_lock<std::mutex> lock(sleep_mutex_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          wake_.wait(lock, [&] {
            return stop_.load(std::memory_order_relaxed) ||
                   (claim_.load(std::memory_order_seq_cst) >> 32) != last;
          });
          sleepers_.fetch_sub(1, std::memory_order_relaxed);
        }
      }
      generation = claim_.load(std::memory_order_acquire) >> 32;
    }
    if (stop_.load(std::memory_order_relaxed)) return;
    last = generation;
    // The job's MXCSR is read after the generation (published before it).
    const unsigned want = csr_.load(std::memory_order_relaxed);
    if (want != csr) {
      write_csr(want);
      csr = want;
    }
    run_tasks(generation, index);
  }
}

int default_thread_count() {
#if defined(__linux__)
  // Physical cores among the CPUs this process may run on: distinct (package, core) pairs.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    std::set<std::pair<std::string, std::string>> cores;
    int allowed = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &set)) continue;
      ++allowed;
      const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
      std::ifstream pkg(base + "physical_package_id");
      std::ifstream core(base + "core_id");
      std::string p, c;
      if (!(pkg >> p) || !(core >> c)) {
        cores.clear();
        break;
      }
      cores.emplace(p, c);
    }
    if (!cores.empty()) return static_cast<int>(cores.size());
    if (allowed > 0) return allowed;
  }
#elif defined(_WIN32)
  // The same count: one RelationProcessorCore record per physical core, whose mask lists its
  // logical processors; a core counts if the process may run on one of them. (This API sees
  // the calling thread's processor group only, 64 logical processors at most.)
  DWORD_PTR allowed = 0, system_mask = 0;
  DWORD bytes = 0;
  if (GetProcessAffinityMask(GetCurrentProcess(), &allowed, &system_mask) && allowed != 0 &&
      !GetLogicalProcessorInformation(nullptr, &bytes) && GetLastError() == ERROR_INSUFFICIENT_BUFFER) {
    std::vector<SYSTEM_LOGICAL_PROCESSOR_INFORMATION> records(bytes / sizeof(SYSTEM_LOGICAL_PROCESSOR_INFORMATION));
    if (GetLogicalProcessorInformation(records.data(), &bytes)) {
      records.resize(bytes / sizeof(SYSTEM_LOGICAL_PROCESSOR_INFORMATION));
      int cores = 0;
      for (const auto& r : records) {
        if (r.Relationship == RelationProcessorCore && (r.ProcessorMask & allowed) != 0) ++cores;
      }
      if (cores > 0) return cores;
    }
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace mlpstream
