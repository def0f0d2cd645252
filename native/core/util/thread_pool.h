// A persistent pool of compute threads. parallel_for hands out task indices; the calling
// thread takes part, so a pool of size 1 runs everything inline with no synchronisation.
//
// - Workers are created once (constructor or resize()) and joined by the destructor.
// - Between jobs a worker spins briefly (a training step issues a GEMM every few tens of
//   microseconds, and a futex wake costs about as much), then sleeps on a condition variable.
// - One job at a time: a caller that finds the pool busy (another training, another worker
//   thread of Node using the same pool) runs its tasks inline instead of waiting, so it is
//   still correct, and deterministic as long as results do not depend on which thread runs a
//   task (the GEMM splits over output tiles only, so they do not).
// - Workers copy the caller's flush-to-zero / denormals-are-zero bits for each job, so a task
//   computes exactly what it would have computed on the caller's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace mlpstream {

class ThreadPool {
 public:
  // Non-owning reference to a callable, so parallel_for never allocates.
  class TaskRef {
   public:
    template <typename F>
    TaskRef(F& f) : object_(&f), call_(&invoke<F>) {}  // NOLINT(google-explicit-constructor)
    void operator()(int task, int thread) const { call_(object_, task, thread); }

   private:
    template <typename F>
    static void invoke(void* object, int task, int thread) {
      (*static_cast<F*>(object))(task, thread);
    }
    void* object_;
    void (*call_)(void*, int, int);
  };

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads that take part in a job, the caller included.
  int size() const { return size_.load(std::memory_order_relaxed); }

  // Changes the number of threads; waits for a running job to finish first. Safe to call while
  // other threads use the pool (they see the new size on their next job).
  void resize(int threads);

  // Runs fn(task, thread) for every task in [0, tasks), thread in [0, size()). Returns when all
  // tasks are done. fn must not throw (tasks are numeric kernels).
  void parallel_for(int tasks, TaskRef fn);

 private:
  void start_workers(int threads);
  void stop_workers();
  void worker_main(int index);
  void run_tasks(std::uint64_t generation, int thread);

  std::atomic<int> size_{1};
  std::atomic<bool> busy_{false};  // a job is being published or run (one at a time)
  std::mutex resize_mutex_;

  // The current job. `claim_` packs (generation << 32 | next task index): a worker claims a
  // task only with a CAS on the generation it saw, so a late worker never runs a stale job.
  std::atomic<std::uint64_t> claim_{0};
  std::atomic<int> done_{0};
  // Written by the caller before it publishes the generation; atomics only so that a late
  // worker's read of a newer job's values is not a data race (its claim then fails).
  std::atomic<int> tasks_{0};
  std::atomic<const TaskRef*> fn_{nullptr};
  std::atomic<unsigned> csr_{0};  // caller's MXCSR (x86), copied by the workers

  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

// Physical cores when the OS tells us, else the logical CPUs the process may use.
int default_thread_count();

}  // namespace mlpstream
