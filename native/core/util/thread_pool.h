// A persistent pool of compute threads. parallel_for hands out task indices; the calling
// thread takes part, so a pool of size 1 runs everything inline with no synchronisation.
#pragma once

#include <cstddef>

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

  int size() const { return threads_; }

  // Runs fn(task, thread) for every task in [0, tasks), thread in [0, size()).
  void parallel_for(int tasks, TaskRef fn);

 private:
  int threads_;
};

// Physical cores when the OS tells us, else the logical CPUs the process may use.
int default_thread_count();

}  // namespace mlpstream
