// One training run on its own thread, paced by its consumer.
//
// The consumer (the JS stream) allows epochs up to a number (`allow_through`); the thread
// runs an epoch only while it is allowed, so a consumer that stops reading stops the
// training after at most its high-water mark of unread epochs. Finished epochs wait in a
// queue of packed records until drain() takes them. When the consumer found nothing to
// take, drain() arms a one-shot notification that the thread fires with the next record or
// with the end of the run; otherwise nothing crosses threads but the queue itself.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/nn/trainer.h"

namespace mlpstream {

// Layout of one packed epoch record (doubles): the fixed fields, then kLayerFields per layer.
// The binding exports these names so the TypeScript side decodes by name, not position.
inline constexpr const char* kRecordFields[] = {"epoch",  "loss",    "accuracy", "rmse",   "r2",
                                                "learningRate", "epochMs", "elapsedMs", "batches"};
inline constexpr int kFixedRecordFields = static_cast<int>(sizeof(kRecordFields) / sizeof(kRecordFields[0]));
inline constexpr const char* kLayerRecordFields[] = {"gradNorm", "weightNorm", "deadFraction", "saturatedFraction"};
inline constexpr int kLayerFields = static_cast<int>(sizeof(kLayerRecordFields) / sizeof(kLayerRecordFields[0]));

class TrainingRun {
 public:
  enum class State : std::uint8_t { kRunning = 0, kCompleted = 1, kCancelled = 2, kDiverged = 3, kFailed = 4 };

  struct Snapshot {
    State state = State::kRunning;
    std::vector<double> records;  // whole records, oldest first
    std::string error;            // kFailed: what went wrong
    std::int64_t diverged_epoch = 0;
    std::int64_t diverged_batch = 0;
    double diverged_loss = 0;
    bool diverged_weights = false;
  };

  // `notify` runs on the training thread; it must only schedule work (e.g. a thread-safe call).
  TrainingRun(std::shared_ptr<Model> model, std::unique_ptr<Trainer> trainer, std::int64_t epochs,
              std::function<void()> notify);
  ~TrainingRun();
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  int record_size() const { return record_size_; }
  void start();
  // Lets the thread run until `epochs` epochs of this run are done (a count, not an increment).
  void allow_through(std::int64_t epochs);
  // Stops before the next mini-batch; the model keeps the last completed epoch.
  void cancel();
  // Moves the finished records into `out`; arms the notification if there were none and the
  // run goes on. Returns the run's state as of this call.
  State drain(Snapshot& out);
  // Waits for the thread to finish (after cancel() or completion).
  void join();

 private:
  void thread_main();
  void append_record(const EpochMetrics& metrics, double elapsed_ms, std::int64_t batches);
  bool wait_for_permission(std::int64_t next_epoch);
  void finish(State state);

  std::shared_ptr<Model> model_;
  std::unique_ptr<Trainer> trainer_;
  const std::int64_t epochs_;
  const int record_size_;
  std::function<void()> notify_;

  std::atomic<bool> cancel_{false};
  std::atomic<std::int64_t> allowed_{0};

  std::mutex mutex_;  // guards everything below
  std::condition_variable permission_;
  std::vector<double> records_;
  State state_ = State::kRunning;
  bool notify_armed_ = false;
  std::string error_;
  std::int64_t diverged_epoch_ = 0;
  std::int64_t diverged_batch_ = 0;
  double diverged_loss_ = 0;
  bool diverged_weights_ = false;

  std::thread thread_;
};

}  // namespace mlpstream
