#include "core/nn/chunk_queue.h"

namespace mlpstream {

ChunkQueue::ChunkQueue(std::function<void()> on_slot_free) : on_slot_free_(std::move(on_slot_free)) {}

Dataset* ChunkQueue::acquire() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int i = 0; i < kBuffers; ++i) {
    if (!in_use_[i]) {
      in_use_[i] = true;
      return &buffers_[i];
    }
  }
  producer_waiting_ = true;
  return nullptr;
}

void ChunkQueue::push(Dataset* chunk) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(chunk);
  }
  ready_.notify_one();
}

void ChunkQueue::end_epoch() { push(nullptr); }

ChunkQueue::Next ChunkQueue::pop(Dataset*& chunk) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return interrupted_ || !queue_.empty(); });
  if (interrupted_) return Next::kInterrupted;
  chunk = queue_.front();
  queue_.pop_front();
  return chunk == nullptr ? Next::kEndOfEpoch : Next::kChunk;
}

void ChunkQueue::release(Dataset* chunk) {
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int i = 0; i < kBuffers; ++i) {
      if (&buffers_[i] == chunk) in_use_[i] = false;
    }
    notify = producer_waiting_;
    producer_waiting_ = false;
  }
  if (notify) on_slot_free_();
}

void ChunkQueue::interrupt() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = true;
  }
  ready_.notify_all();
}

}  // namespace mlpstream
