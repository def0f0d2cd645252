#include "core/util/thread_pool.h"

#include <thread>

namespace mlpstream {

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {}
ThreadPool::~ThreadPool() = default;

void ThreadPool::parallel_for(int tasks, TaskRef fn) {
  for (int t = 0; t < tasks; ++t) fn(t, 0);
}

int default_thread_count() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace mlpstream
