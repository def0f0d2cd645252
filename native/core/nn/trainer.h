// The training loop of one run: mini-batches, forward, loss, backward, update, per-epoch
// metrics and per-layer diagnostics. Pure C++ (no threads, no N-API): TrainingRun drives it
// on its own thread and the tests drive it directly.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/nn/model.h"
#include "core/nn/network.h"
#include "core/nn/optimizer.h"
#include "core/util/aligned_buffer.h"
#include "core/util/rng.h"

namespace mlpstream {

// Training data owned by native memory for the whole run (copied once from JS), already
// standardised when the model standardises its inputs.
struct Dataset {
  int rows = 0;
  int inputs = 0;
  int outputs = 0;  // target width; for integer labels, the number of classes
  AlignedBuffer<float> x;            // rows x inputs
  AlignedBuffer<float> y;            // rows x outputs (dense targets), or empty
  AlignedBuffer<std::int32_t> labels;  // rows (class indices), or empty
  bool has_labels() const { return !labels.empty(); }
};

struct TrainConfig {
  Loss loss = Loss::kMse;
  int batch_size = 0;  // 0: the whole data set in one batch
  bool shuffle = true;
  std::uint64_t seed = 0;
  OptimizerConfig optimizer{};
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
  double accuracy = 0;     // NaN for mse
  double rmse = 0;         // NaN unless mse
  double r2 = 0;           // NaN unless mse
  double learning_rate = 0;
  double epoch_ms = 0;
  std::vector<LayerDiagnostics> layers;
};

enum class EpochStatus : std::uint8_t { kCompleted, kCancelled, kDiverged };

struct EpochOutcome {
  EpochStatus status = EpochStatus::kCompleted;
  std::int64_t batch = 0;  // for kDiverged: the 1-based batch whose loss (or update) was not finite
  double bad_loss = 0;
  bool bad_weights = false;  // kDiverged: the loss was finite but the update overflowed the weights
};

class Trainer {
 public:
  // Starts from the model's committed parameters (and its training state when `resume`).
  Trainer(Model& model, Dataset data, TrainConfig config, const KernelTable& kernels, ThreadPool* pool, bool resume);

  // Runs one epoch; checks `cancel` before every mini-batch. When `batches_done` is given,
  // stores the number of finished mini-batches there after each one (progress inside long
  // epochs; relaxed stores the consumer polls).
  EpochOutcome run_epoch(const std::atomic<bool>& cancel, EpochMetrics& metrics,
                         std::uint32_t* batches_done = nullptr);
  // Mini-batches in one epoch.
  std::int64_t batches_per_epoch() const { return (data_.rows + batch_rows_ - 1) / batch_rows_; }

  // Copies the parameters and training state of the epoch just finished into the model.
  void commit(Model& model) const;

  std::int64_t epochs_done() const { return epochs_done_; }
  const AlignedBuffer<float>& params() const { return params_; }

 private:
  void gather_batch(std::size_t start, int rows);
  void accumulate_diagnostics(int rows, bool logits_out);

  const Architecture arch_;
  Dataset data_;
  TrainConfig config_;
  Compute compute_;
  Network network_;
  Optimizer optimizer_;
  Rng rng_;
  std::int64_t epochs_done_ = 0;
  int batch_rows_ = 0;
  AlignedBuffer<float> params_;
  AlignedBuffer<float> grads_;
  AlignedBuffer<std::uint32_t> order_;  // row order of the current epoch
  AlignedBuffer<float> batch_x_;
  AlignedBuffer<float> batch_y_;
  AlignedBuffer<std::int32_t> batch_labels_;
  double target_sum_squares_about_mean_ = 0;  // for R^2
  // Diagnostics accumulated over one epoch.
  std::vector<double> grad_sq_sum_;
  std::vector<AlignedBuffer<std::uint8_t>> unit_active_;
  std::vector<double> saturated_count_;
};

}  // namespace mlpstream
