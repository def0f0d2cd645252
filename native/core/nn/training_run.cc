#include "core/nn/training_run.h"

#include <chrono>
#include <exception>

#include "core/nn/dataset_load.h"
#include "core/util/float_env.h"
#include "core/util/shared_word.h"

namespace mlpstream {

namespace {

// Tells the core this is a spin-wait (x86 PAUSE / arm YIELD): less power, and the sibling
// hyper-thread, if any, gets the pipeline.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long the training thread spins before sleeping when it waits for permission. When
// epochs take microseconds (XOR), the consumer usually grants more within a few
// microseconds, and a sleep costs a system call to wake plus a reschedule, many epochs' worth.
// 1 ms covers a turn of the consumer's event loop, a minor GC or a short preemption on a busy
// machine (200 us did not: the thread then slept and was woken thousands of times per run);
// against a slow consumer it costs at most 1 ms of one core per wait.
constexpr auto kPermissionSpin = std::chrono::microseconds(1000);
// The first part of that wait spins on the core; after it, the thread yields the core between
// checks: when the machine has more runnable threads than cores, a pure spin can hold the core
// the consumer needs to grant us the next epoch (measured: runs 20-100x slower under load).
constexpr auto kPermissionSpinHot = std::chrono::microseconds(50);

}  // namespace

TrainingRun::TrainingRun(std::shared_ptr<Model> model, std::unique_ptr<Trainer> trainer, std::int64_t epochs,
                         EpochChannel channel, std::function<void()> notify)
    : model_(std::move(model)),
      trainer_(std::move(trainer)),
      source_(trainer_->source()),
      epochs_(epochs),
      record_size_(record_size(model_->architecture().depth())),
      channel_(channel),
      notify_(std::move(notify)) {}

TrainingRun::TrainingRun(std::shared_ptr<Model> model, Prepare prepare, std::int64_t epochs, EpochChannel channel,
                         std::function<void()> notify)
    : model_(std::move(model)),
      prepare_(std::move(prepare)),
      epochs_(epochs),
      record_size_(record_size(model_->architecture().depth())),
      channel_(channel),
      notify_(std::move(notify)) {}

TrainingRun::~TrainingRun() {
  cancel();
  join();
}

void TrainingRun::start() { thread_ = std::thread([this] { thread_main(); }); }

void TrainingRun::wake() {
  std::lock_guard<std::mutex> lock(mutex_);
  permission_.notify_one();
}

void TrainingRun::cancel() {
  {
    std::lock_guard<std::mutex> lock(commit_mutex_);
    cancel_.store(true);
  }
  // A run waiting for streamed data wakes up too. (source_ is set once, before the thread
  // starts: the trainer itself may still be under construction on the thread.)
  if (source_ != nullptr) source_->interrupt();
  wake();
}

void TrainingRun::join() {
  if (thread_.joinable()) thread_.join();
}

TrainingRun::Outcome TrainingRun::outcome() {
  std::lock_guard<std::mutex> lock(mutex_);
  return outcome_;
}

bool TrainingRun::wait_for_permission() {
  std::uint32_t* control = channel_.control;
  // Allowed by the consumer, and a free slot in the ring (the consumer's arithmetic keeps the
  // first implying the second; checking both keeps a wrong consumer from overwriting records).
  // The consumer's words live on cache lines it writes: reading them costs a transfer between
  // cores. Tiny epochs pass on the values last read while they still allow the next epoch.
  if (!shared_word::at_or_after(produced_, seen_allowed_) && produced_ - seen_taken_ < channel_.capacity) return true;
  auto allowed = [&] {
    seen_allowed_ = shared_word::load(&control[EpochChannel::kAllowed]);
    seen_taken_ = shared_word::load(&control[EpochChannel::kTaken]);
    return !shared_word::at_or_after(produced_, seen_allowed_) && produced_ - seen_taken_ < channel_.capacity;
  };
  if (allowed()) return !cancel_.load();
  const auto started = std::chrono::steady_clock::now();
  while (!allowed()) {
    if (cancel_.load()) return false;
    const auto waited = std::chrono::steady_clock::now() - started;
    if (waited < kPermissionSpinHot) {
      cpu_relax();
      continue;
    }
    if (waited < kPermissionSpin) {
      // Still expecting permission soon, but let another runnable thread (the consumer's,
      // on a busy machine) have this core meanwhile.
      std::this_thread::yield();
      continue;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      // (Re-)raise the flag before each check: either we see the consumer's new allowance, or
      // the consumer sees the flag (and moves it to 2) and calls wake(), which needs this mutex.
      // A wake-up that did not make us runnable (only room in the ring, say) must leave the
      // flag at 1 again, or the next allowance would not wake us.
      shared_word::store(&control[EpochChannel::kThreadSleeping], 1);
      if (cancel_.load() || allowed()) break;
      permission_.wait(lock);
    }
    shared_word::store(&control[EpochChannel::kThreadSleeping], 0);
  }
  return !cancel_.load();
}

void TrainingRun::notify_if_waiting() {
  // Read before exchanging: the exchange would take the line from the consumer's core on every
  // epoch even though the flag is usually 0. (The store that published the epoch is sequentially
  // consistent, so this load cannot be ordered before it.)
  std::uint32_t* waiting = &channel_.control[EpochChannel::kConsumerWaiting];
  if (shared_word::load(waiting) == 1 && shared_word::exchange(waiting, 0) == 1) notify_();
}

void TrainingRun::publish(const EpochMetrics& m, double elapsed_ms, std::int64_t batches) {
  double* r = channel_.ring + static_cast<std::size_t>(produced_ % channel_.capacity) * static_cast<std::size_t>(record_size_);
  const double fixed[] = {static_cast<double>(m.epoch),
                          m.loss,
                          m.accuracy,
                          m.rmse,
                          m.r2,
                          m.val_loss,
                          m.val_accuracy,
                          m.val_rmse,
                          m.val_r2,
                          m.learning_rate,
                          m.epoch_ms,
                          elapsed_ms,
                          static_cast<double>(batches),
                          m.grad_norm,
                          m.stop ? 1.0 : 0.0,
                          static_cast<double>(m.best_epoch),
                          static_cast<double>(m.samples)};
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
  // The record is written before the counter that makes it visible (sequentially consistent store).
  shared_word::store(&channel_.control[EpochChannel::kProduced], ++produced_);
  notify_if_waiting();
}

void TrainingRun::finish(State state) {
  shared_word::store(&channel_.control[EpochChannel::kState], static_cast<std::uint32_t>(state));
  notify_if_waiting();
}

TrainingRun::State TrainingRun::fail(const std::string& error, bool invalid_data) {
  std::lock_guard<std::mutex> lock(mutex_);
  outcome_.error = error;
  outcome_.invalid_data = invalid_data;
  return State::kFailed;
}

void TrainingRun::thread_main() {
  ScopedFlushDenormals flush_denormals;
  State state = State::kFailed;
  try {
    state = run();
  } catch (const InvalidData& e) {
    state = fail(e.what(), true);
  } catch (const std::exception& e) {
    state = fail(e.what(), false);
  } catch (...) {
    state = fail("unknown native error", false);
  }
  // Free the run's copy of the data here, before the consumer hears of the end: it then closes
  // the session and joins this thread on the JS thread, and freeing hundreds of megabytes there
  // would hold up the event loop. (A streaming trainer stays: its chunk queue is shared with the
  // JS thread until the session closes.)
  if (trainer_ && trainer_->source() == nullptr) trainer_.reset();
  finish(state);
}

TrainingRun::State TrainingRun::run() {
  std::uint32_t* control = channel_.control;
  // Load the data first (the binding left the big copies to this thread), then let the
  // consumer drop the arrays it lent us.
  if (prepare_) {
    Prepare prepare = std::move(prepare_);
    trainer_ = prepare(cancel_);
  }
  shared_word::store(&control[EpochChannel::kInputsCopied], 1);
  if (!trainer_) return State::kCancelled;
  shared_word::store(&control[EpochChannel::kBatchesPerEpoch], static_cast<std::uint32_t>(trainer_->batches_per_epoch()));
  notify_if_waiting();

  const auto started = std::chrono::steady_clock::now();
  EpochMetrics metrics;
  for (std::int64_t done = 0; done < epochs_; ++done) {
    if (!wait_for_permission()) return State::kCancelled;
    // Progress inside an epoch only matters when it has more than one batch.
    std::uint32_t* progress = trainer_->batches_per_epoch() == 1 ? nullptr : &control[EpochChannel::kBatchesDone];
    const EpochOutcome outcome = trainer_->run_epoch(cancel_, metrics, progress);
    if (outcome.status == EpochStatus::kCancelled) return State::kCancelled;
    if (outcome.status == EpochStatus::kDiverged) {
      std::lock_guard<std::mutex> lock(mutex_);
      outcome_.diverged_epoch = trainer_->epochs_done() + 1;
      outcome_.diverged_batch = outcome.batch;
      outcome_.diverged_loss = outcome.bad_loss;
      outcome_.diverged_weights = outcome.bad_weights;
      return State::kDiverged;
    }
    const bool last = metrics.stop || done + 1 == epochs_;
    {
      // An epoch that ends after cancel() is not committed: cancel() promises the model stays
      // as it was when it returned.
      std::lock_guard<std::mutex> lock(commit_mutex_);
      if (cancel_.load()) return State::kCancelled;
      trainer_->commit(*model_, last);
    }
    const double elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    // The next epoch's progress starts from zero; cleared before the epoch is published, so a
    // consumer that sees the new epoch count never sees this epoch's batch count with it.
    // (Single-batch epochs never report progress inside the epoch: nothing to clear.)
    if (outcome.batch > 1 || trainer_->batches_per_epoch() != 1) shared_word::store(&control[EpochChannel::kBatchesDone], 0);
    publish(metrics, elapsed_ms, outcome.batch);
    if (metrics.stop) break;  // early stopping
  }
  return State::kCompleted;
}

}  // namespace mlpstream
