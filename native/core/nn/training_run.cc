#include "core/nn/training_run.h"

#include <chrono>
#include <exception>

#include "core/util/float_env.h"

namespace mlpstream {

namespace {

// How long the training thread spins before sleeping when it waits for permission. When
// epochs take microseconds (XOR), the consumer usually grants more within a few
// microseconds; a futex sleep and wake would cost more than the epoch itself. Long enough to
// cover one turn of the consumer's event loop, short enough to be free when it is slow.
constexpr auto kPermissionSpin = std::chrono::microseconds(200);

}  // namespace

TrainingRun::TrainingRun(std::shared_ptr<Model> model, std::unique_ptr<Trainer> trainer, std::int64_t epochs,
                         std::function<void()> notify)
    : model_(std::move(model)),
      trainer_(std::move(trainer)),
      epochs_(epochs),
      record_size_(kFixedRecordFields + kLayerFields * static_cast<int>(model_->architecture().depth())),
      notify_(std::move(notify)) {}

TrainingRun::~TrainingRun() {
  cancel();
  join();
}

void TrainingRun::start() { thread_ = std::thread([this] { thread_main(); }); }

void TrainingRun::allow_through(std::int64_t epochs) {
  std::int64_t current = allowed_.load(std::memory_order_relaxed);
  while (epochs > current && !allowed_.compare_exchange_weak(current, epochs, std::memory_order_release)) {
  }
  if (epochs > current) {
    std::lock_guard<std::mutex> lock(mutex_);
    permission_.notify_one();
  }
}

void TrainingRun::cancel() {
  cancel_.store(true, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mutex_);
  permission_.notify_one();
}

void TrainingRun::join() {
  if (thread_.joinable()) thread_.join();
}

TrainingRun::State TrainingRun::drain(Snapshot& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  out.records.swap(records_);
  records_.clear();
  out.state = state_;
  out.error = error_;
  out.diverged_epoch = diverged_epoch_;
  out.diverged_batch = diverged_batch_;
  out.diverged_loss = diverged_loss_;
  out.diverged_weights = diverged_weights_;
  notify_armed_ = out.records.empty() && state_ == State::kRunning;
  return state_;
}

bool TrainingRun::wait_for_permission(std::int64_t next_epoch) {
  const auto spin_until = std::chrono::steady_clock::now() + kPermissionSpin;
  while (allowed_.load(std::memory_order_acquire) < next_epoch) {
    if (cancel_.load(std::memory_order_relaxed)) return false;
    if (std::chrono::steady_clock::now() > spin_until) {
      std::unique_lock<std::mutex> lock(mutex_);
      permission_.wait(lock, [&] {
        return cancel_.load(std::memory_order_relaxed) || allowed_.load(std::memory_order_acquire) >= next_epoch;
      });
    }
  }
  return !cancel_.load(std::memory_order_relaxed);
}

void TrainingRun::append_record(const EpochMetrics& m, double elapsed_ms, std::int64_t batches) {
  const std::size_t base = records_.size();
  records_.resize(base + static_cast<std::size_t>(record_size_));
  double* r = records_.data() + base;
  const double fixed[] = {static_cast<double>(m.epoch), m.loss, m.accuracy, m.rmse, m.r2,
                          m.learning_rate, m.epoch_ms, elapsed_ms, static_cast<double>(batches)};
  static_assert(sizeof(fixed) / sizeof(fixed[0]) == kFixedRecordFields, "record layout and kRecordFields disagree");
  for (int i = 0; i < kFixedRecordFields; ++i) r[i] = fixed[i];
  r += kFixedRecordFields;
  for (const LayerDiagnostics& d : m.layers) {
    r[0] = d.grad_norm;
    r[1] = d.weight_norm;
    r[2] = d.dead_fraction;
    r[3] = d.saturated_fraction;
    r += kLayerFields;
  }
}

void TrainingRun::finish(State state) {
  bool fire;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = state;
    fire = notify_armed_;
    notify_armed_ = false;
  }
  if (fire) notify_();
}

void TrainingRun::thread_main() {
  ScopedFlushDenormals flush_denormals;
  const auto started = std::chrono::steady_clock::now();
  EpochMetrics metrics;
  try {
    for (std::int64_t done = 0; done < epochs_; ++done) {
      if (!wait_for_permission(done + 1)) return finish(State::kCancelled);
      const EpochOutcome outcome = trainer_->run_epoch(cancel_, metrics);
      if (outcome.status == EpochStatus::kCancelled) return finish(State::kCancelled);
      if (outcome.status == EpochStatus::kDiverged) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          diverged_epoch_ = trainer_->epochs_done() + 1;
          diverged_batch_ = outcome.batch;
          diverged_loss_ = outcome.bad_loss;
          diverged_weights_ = outcome.bad_weights;
        }
        return finish(State::kDiverged);
      }
      trainer_->commit(*model_);
      const double elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      bool fire;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        append_record(metrics, elapsed_ms, outcome.batch);
        fire = notify_armed_;
        notify_armed_ = false;
      }
      if (fire) notify_();
    }
    finish(State::kCompleted);
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = e.what();
    }
    finish(State::kFailed);
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = "unknown native error";
    }
    finish(State::kFailed);
  }
}

}  // namespace mlpstream
