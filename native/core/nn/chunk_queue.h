// Training data that streams in: chunks handed over by the producer (the JS thread) and
// consumed by the training thread, with two buffers so that the producer fills one while the
// trainer works on the other (double buffering). A chunk's floats are copied once, from the
// producer's array into a buffer of this queue; the buffers grow to the largest chunk seen and
// are then reused, so a steady stream allocates nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "core/nn/dataset.h"

namespace mlpstream {

class ChunkQueue {
 public:
  // `on_slot_free` runs on the training thread when a buffer frees up while the producer waits
  // for one; it must only schedule work.
  explicit ChunkQueue(std::function<void()> on_slot_free);

  // Producer: a free buffer to fill, or null when both are in use (the producer is then
  // notified through on_slot_free once one frees up).
  Dataset* acquire();
  // Producer: hands a filled buffer (from acquire) to the trainer.
  void push(Dataset* chunk);
  // Producer: the current epoch has no more chunks.
  void end_epoch();

  enum class Next : std::uint8_t { kChunk, kEndOfEpoch, kInterrupted };
  // Trainer: waits for the next chunk or the end of the epoch; kInterrupted once interrupt()
  // was called.
  Next pop(Dataset*& chunk);
  // Trainer: gives a consumed chunk's buffer back.
  void release(Dataset* chunk);
  // Wakes a waiting pop() for good (cancellation).
  void interrupt();

 private:
  static constexpr int kBuffers = 2;
  std::mutex mutex_;
  std::condition_variable ready_;
  Dataset buffers_[kBuffers];
  bool in_use_[kBuffers] = {false, false};
  std::deque<Dataset*> queue_;  // null marks the end of an epoch
  bool producer_waiting_ = false;
  bool interrupted_ = false;
  std::function<void()> on_slot_free_;
};

}  // namespace mlpstream
