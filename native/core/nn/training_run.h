// One training run on its own thread, paced by its consumer through shared memory.
//
// The run and its consumer (the JS stream) share a small control block of 32-bit words and
// a ring of packed epoch records (see EpochChannel). The consumer stores how many epochs it
// allows (`kAllowed`: epochs read + its high-water mark); the thread runs an epoch only while
// allowed, so a consumer that stops reading stops the training after at most its high-water
// mark of unread epochs. Finished epochs go into the ring and `kProduced` is bumped; the
// consumer takes them with plain loads, without a call into native code.
//
// Sleeping on either side uses a flag and a re-check (the Dekker pattern on sequentially
// consistent words): the thread sets kThreadSleeping before it sleeps and the consumer wakes
// it (wake()) only when that flag is set; the consumer sets kConsumerWaiting when it found
// nothing and the thread calls `notify` only then. When epochs take microseconds, neither
// side sleeps and nothing but the shared words crosses the threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/nn/trainer.h"

namespace mlpstream {

// Layout of one packed epoch record (doubles): the fixed fields, then kLayerFields per layer.
// The binding exports these names so the TypeScript side decodes by name, not position.
inline constexpr const char* kRecordFields[] = {
    "epoch",    "loss",        "accuracy", "rmse",      "r2",       "valLoss",  "valAccuracy", "valRmse",
    "valR2",    "learningRate", "epochMs", "elapsedMs", "batches",  "gradNorm", "stopped",     "bestEpoch",
    "samples"};
inline constexpr int kFixedRecordFields = static_cast<int>(sizeof(kRecordFields) / sizeof(kRecordFields[0]));
inline constexpr const char* kLayerRecordFields[] = {"gradNorm", "weightNorm", "deadFraction", "saturatedFraction"};
inline constexpr int kLayerFields = static_cast<int>(sizeof(kLayerRecordFields) / sizeof(kLayerRecordFields[0]));

// Memory shared with the consumer; owned by the binding (a JS ArrayBuffer kept alive for the
// run's whole life).
struct EpochChannel {
  // Word indices of the control block. Counters are modulo 2^32. Each word sits on a cache
  // line of its own (16 words apart): the two threads write different words at epoch rate,
  // and sharing a line would bounce it between the cores on every write.
  enum Word : int {
    kAllowed = 0 * 16,          // consumer -> run: the run may complete epochs while produced < allowed
    kProduced = 1 * 16,         // run -> consumer: epochs completed and written to the ring
    kTaken = 2 * 16,            // consumer -> run: records the consumer has copied out of the ring
    kConsumerWaiting = 3 * 16,  // consumer: 1 = found nothing, wants `notify` on the next change
    kThreadSleeping = 4 * 16,   // run: 1 = asleep on its condition variable, wants wake(); 2 = wake() is on its way
    kState = 5 * 16,            // run -> consumer: a TrainingRun::State, written after the last record
    kBatchesDone = 6 * 16,      // run -> consumer: mini-batches finished in the current epoch (progress)
    kBatchesPerEpoch = 7 * 16,  // run -> consumer: mini-batches in one epoch (0: not known, streamed data)
    kInputsCopied = 8 * 16,     // run -> consumer: 1 = the borrowed input arrays are no longer read
    kWords = 9 * 16,
  };
  std::uint32_t* control = nullptr;
  double* ring = nullptr;
  std::uint32_t capacity = 0;  // records in the ring (the consumer's high-water mark + 2)
};

class TrainingRun {
 public:
  // Builds the run's trainer on the training thread, before the first epoch: copies the data
  // into native memory (see dataset_load.h). Returns null when `cancel` was raised meanwhile;
  // throws InvalidData for data the caller must fix.
  using Prepare = std::function<std::unique_ptr<Trainer>(const std::atomic<bool>& cancel)>;

  enum class State : std::uint32_t { kRunning = 0, kCompleted = 1, kCancelled = 2, kDiverged = 3, kFailed = 4 };

  struct Outcome {
    std::string error;  // kFailed: what went wrong
    bool invalid_data = false;  // kFailed because of the caller's data (a RangeError in JS)
    std::int64_t diverged_epoch = 0;
    std::int64_t diverged_batch = 0;
    double diverged_loss = 0;
    bool diverged_weights = false;
  };

  // `notify` runs on the training thread; it must only schedule work (a thread-safe call).
  // Either with a trainer built beforehand, or with one `prepare` builds on the thread.
  TrainingRun(std::shared_ptr<Model> model, std::unique_ptr<Trainer> trainer, std::int64_t epochs,
              EpochChannel channel, std::function<void()> notify);
  TrainingRun(std::shared_ptr<Model> model, Prepare prepare, std::int64_t epochs, EpochChannel channel,
              std::function<void()> notify);
  ~TrainingRun();
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  static int record_size(std::size_t depth) { return kFixedRecordFields + kLayerFields * static_cast<int>(depth); }

  void start();
  // Wakes the thread if it sleeps waiting for permission (the consumer raised kAllowed).
  void wake();
  // Stops before the next mini-batch; the model keeps the last completed epoch. When cancel()
  // returns, the run commits nothing more to the model (its thread may still be finishing a
  // mini-batch, on its own copy of the parameters).
  void cancel();
  // Waits for the thread to finish (after cancel() or completion).
  void join();
  // Details of how the run ended; valid once kState is not kRunning.
  Outcome outcome();

 private:
  void thread_main();
  bool wait_for_permission();
  void publish(const EpochMetrics& metrics, double elapsed_ms, std::int64_t batches);
  void finish(State state);
  void notify_if_waiting();
  // The run itself: loads the data, trains, and says how it ended.
  State run();
  State fail(const std::string& error, bool invalid_data);

  std::shared_ptr<Model> model_;
  Prepare prepare_;
  std::unique_ptr<Trainer> trainer_;
  ChunkQueue* source_ = nullptr;  // the trainer's streaming source, if it was built beforehand
  const std::int64_t epochs_;
  const int record_size_;
  EpochChannel channel_;
  std::function<void()> notify_;
  std::uint32_t produced_ = 0;  // thread-local copy of kProduced
  std::uint32_t seen_allowed_ = 0;  // kAllowed and kTaken as last read
  std::uint32_t seen_taken_ = 0;

  std::atomic<bool> cancel_{false};
  std::mutex commit_mutex_;  // cancel() and the check-then-commit of an epoch, one at a time
  std::mutex mutex_;  // guards the condition variable's sleep and outcome_
  std::condition_variable permission_;
  Outcome outcome_;
  std::thread thread_;
};

}  // namespace mlpstream
