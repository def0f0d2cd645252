// The training loop of one run: mini-batches, forward, loss, backward, update; per-epoch
// metrics, validation, learning-rate schedule, early stopping and per-layer diagnostics.
// Pure C++ (no threads, no N-API): TrainingRun drives it on its own thread and the tests
// drive it through the binding.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/nn/chunk_queue.h"
#include "core/nn/dataset.h"
#include "core/nn/lbfgs.h"
#include "core/nn/model.h"
#include "core/nn/network.h"
#include "core/nn/optimizer.h"
#include "core/nn/schedule.h"
#include "core/util/aligned_buffer.h"
#include "core/util/rng.h"

namespace mlpstream {

enum class Monitor : std::uint8_t { kLoss = 0, kValLoss = 1, kAccuracy = 2, kValAccuracy = 3 };

struct EarlyStoppingConfig {
  bool enabled = false;
  Monitor monitor = Monitor::kValLoss;
  std::int64_t patience = 10;  // epochs without improvement before stopping
  double min_delta = 0;        // smallest change that counts as an improvement
  bool restore_best = false;   // end with the best epoch's weights
};

struct TrainConfig {
  Loss loss = Loss::kMse;
  int batch_size = 0;  // 0: the whole data set in one batch
  bool shuffle = true;
  std::uint64_t seed = 0;
  OptimizerConfig optimizer{};
  ScheduleConfig schedule{};
  EarlyStoppingConfig early_stopping{};
  float clip_norm = 0;      // > 0: scale each step's gradient to at most this global L2 norm
  bool diagnostics = true;  // per-layer gradient/weight norms, dead and saturated units
};

struct LayerDiagnostics {
  double grad_norm = 0;           // RMS over the epoch's steps of the layer's gradient L2 norm
  double weight_norm = 0;         // L2 norm of the layer's weights at the end of the epoch
  double dead_fraction = 0;       // ReLU family: units that stayed at <= 0 for every sample
  double saturated_fraction = 0;  // sigmoid/tanh: outputs within 1% of an asymptote
};

struct EpochMetrics {
  std::int64_t epoch = 0;  // 1-based, counted over the model's whole training history
  double loss = 0;
  double accuracy = 0;  // NaN for mse
  double rmse = 0;      // NaN unless mse
  double r2 = 0;        // NaN unless mse
  double val_loss = 0;  // NaN without validation data (and the rest likewise)
  double val_accuracy = 0;
  double val_rmse = 0;
  double val_r2 = 0;
  double learning_rate = 0;
  double epoch_ms = 0;
  std::int64_t samples = 0;   // rows trained in the epoch
  double grad_norm = 0;       // RMS over the epoch's steps of the global gradient norm (before clipping)
  bool stop = false;          // early stopping ends the run after this epoch
  std::int64_t best_epoch = 0;  // early stopping: the best epoch so far (0 when not monitoring)
  std::vector<LayerDiagnostics> layers;
};

enum class EpochStatus : std::uint8_t { kCompleted, kCancelled, kDiverged };

struct EpochOutcome {
  EpochStatus status = EpochStatus::kCompleted;
  std::int64_t batch = 0;  // batches run; for kDiverged the 1-based batch whose loss (or update) was not finite
  double bad_loss = 0;
  bool bad_weights = false;  // kDiverged: the loss was finite but the update overflowed the weights
};

class Trainer {
 public:
  // Starts from the model's committed parameters (and its training state when `resume`).
  // `validation` may have zero rows (no validation).
  Trainer(Model& model, Dataset data, Dataset validation, TrainConfig config, const KernelTable& kernels,
          ThreadPool* pool, bool resume);

  // Training data that streams in: each epoch takes chunks from `source` until its end-of-epoch
  // mark. Mini-batches run across chunk boundaries exactly as over one array of the same rows;
  // shuffling (when on) is within each chunk. `labels`: targets come as class indices.
  Trainer(Model& model, std::unique_ptr<ChunkQueue> source, bool labels, Dataset validation, TrainConfig config,
          const KernelTable& kernels, ThreadPool* pool, bool resume);

  // The streaming source, or null for in-memory data.
  ChunkQueue* source() { return source_.get(); }

  // Runs one epoch; checks `cancel` before every mini-batch. When `batches_done` is given,
  // stores the number of finished mini-batches there after each one (progress inside long
  // epochs; relaxed stores the consumer polls).
  EpochOutcome run_epoch(const std::atomic<bool>& cancel, EpochMetrics& metrics, std::uint32_t* batches_done = nullptr);

  // Copies the parameters and training state of the epoch just finished into the model
  // (with restore_best and a finished run: the best epoch's parameters).
  void commit(Model& model, bool final_epoch) const;

  std::int64_t epochs_done() const { return epochs_done_; }
  // Mini-batches in one epoch; 0 when the data streams in (not known in advance).
  std::int64_t batches_per_epoch() const { return source_ ? 0 : (data_.rows + batch_rows_ - 1) / batch_rows_; }
  const AlignedBuffer<float>& params() const { return params_; }

 private:
  struct Sums {
    LossSums loss;
    std::int64_t steps = 0;
    double grad_sq = 0;  // sum over steps of the squared global gradient norm
  };
  EpochOutcome run_minibatches(const std::atomic<bool>& cancel, Sums& sums, float learning_rate,
                               std::uint32_t* batches_done);
  EpochOutcome run_streaming(const std::atomic<bool>& cancel, Sums& sums, float learning_rate,
                             std::uint32_t* batches_done);
  // One mini-batch: gradients, clipping, update, sums. Returns false when its loss was not finite.
  bool train_step(const float* x, Targets targets, int rows, Sums& sums, float learning_rate,
                  std::uint32_t* batches_done);
  void allocate(bool gathered_batches);
  EpochOutcome run_lbfgs(const std::atomic<bool>& cancel, Sums& sums, float learning_rate);
  // Forward + loss + backward over rows [start, start + rows) of the (gathered) data at `params`.
  // With `grad_sq` (diagnostics on), also stores the squared global gradient norm there.
  LossSums step_gradients(const float* params, const float* x, Targets targets, int rows, float* grads,
                          bool diagnostics, double* grad_sq = nullptr);
  // Loss and gradient of the whole training set (full batch) at `params`, in batch_rows_ chunks.
  LossSums full_gradient(const float* params, float* grads, bool diagnostics);
  LossSums evaluate(const Dataset& data);
  void gather_batch(std::size_t start, int rows);
  // Adds one step's per-layer statistics; returns the step's squared global gradient norm
  // (the sum of the layers', so clipping and the epoch's gradNorm need no second pass).
  double accumulate_diagnostics(int rows, const float* grads);
  // Squared sums of every gradient slice into grad_slice_sums_ (over the pool when worth it).
  void layer_gradient_sums(const float* grads);
  void clip(float* grads, double grad_sq) const;
  void finish_metrics(EpochMetrics& metrics, const Sums& sums, float learning_rate);
  void update_early_stopping(EpochMetrics& metrics);

  const Architecture arch_;
  Dataset data_;  // in memory; for streaming, only its shape (rows 0)
  std::unique_ptr<ChunkQueue> source_;
  bool labels_ = false;
  int epoch_rows_ = 0;  // rows trained in the current epoch
  std::vector<double> target_sum_;     // streaming mse: per-output sums of the epoch's targets (for R^2)
  std::vector<double> target_sum_sq_;
  Dataset validation_;
  TrainConfig config_;
  bool logits_out_ = false;
  Compute compute_;
  Network network_;
  Optimizer optimizer_;
  std::optional<Lbfgs> lbfgs_;
  Rng rng_;
  std::int64_t epochs_done_ = 0;
  int batch_rows_ = 0;
  AlignedBuffer<float> params_;
  AlignedBuffer<float> grads_;
  AlignedBuffer<std::uint32_t> order_;   // row order of the current epoch
  AlignedBuffer<float> batch_x_;
  AlignedBuffer<float> batch_y_;
  AlignedBuffer<std::int32_t> batch_labels_;
  double target_ss_ = 0;      // sum of squares of the training targets about their means (R^2)
  double val_target_ss_ = 0;  // the same for the validation targets
  ScheduleState schedule_state_;
  // Early stopping.
  double best_value_ = 0;
  std::int64_t best_epoch_ = 0;
  std::int64_t wait_ = 0;
  AlignedBuffer<float> best_params_;
  // Diagnostics accumulated over one epoch.
  struct GradSlice {
    std::size_t begin;
    std::size_t count;
  };
  // In layer order: layer l owns slices [layer_first_slice_[l], layer_first_slice_[l + 1]).
  std::vector<GradSlice> grad_slices_;
  std::vector<std::size_t> layer_first_slice_;
  std::vector<double> grad_slice_sums_;
  std::vector<double> grad_sq_sum_;
  std::vector<AlignedBuffer<std::uint8_t>> unit_active_;
  std::vector<double> saturated_count_;
};

}  // namespace mlpstream
