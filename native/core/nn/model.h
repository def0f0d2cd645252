// A model: architecture, the committed parameters, optional input standardisation, and
// (after training) the state a resumed run needs. Training works on its own copy and
// commits here at each epoch end, so readers (predict, save) always see a whole epoch.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/nn/architecture.h"
#include "core/nn/dense_rows.h"
#include "core/nn/network.h"
#include "core/nn/optimizer.h"
#include "core/nn/schedule.h"
#include "core/util/aligned_buffer.h"
#include "core/util/rng.h"

namespace mlpstream {

// x_normalised = (x - mean) * inv_std, per input feature.
struct Normalization {
  AlignedBuffer<float> mean;
  AlignedBuffer<float> inv_std;
};

// Everything beyond the weights that makes a resumed run identical to an uninterrupted one.
struct TrainingState {
  std::int64_t epochs_done = 0;
  Rng::State rng{};
  OptimizerConfig optimizer_config{};
  OptimizerState optimizer;
  ScheduleState schedule;
  // Early stopping: best monitored value so far (NaN: none yet), its epoch, epochs since.
  double early_best = std::numeric_limits<double>::quiet_NaN();
  std::int64_t early_best_epoch = 0;
  std::int64_t early_wait = 0;
};

class Model {
 public:
  explicit Model(Architecture arch);

  const Architecture& architecture() const { return arch_; }

  // Glorot-uniform for sigmoid/tanh/linear/softmax layers, He-normal for the ReLU family;
  // biases zero. The same seed always gives the same weights.
  void initialize(std::uint64_t seed);

  // Every access to the mutable parts below goes through this lock.
  std::mutex& mutex() const { return mutex_; }
  AlignedBuffer<float>& params() { return params_; }
  const AlignedBuffer<float>& params() const { return params_; }
  std::optional<Normalization>& normalization() { return normalization_; }
  const std::optional<Normalization>& normalization() const { return normalization_; }
  std::optional<TrainingState>& training_state() { return training_state_; }

  // Forward pass with the output activation applied (probabilities for sigmoid / softmax).
  // Thread-safe: takes the lock; reuses the model's own buffers, grown only for larger batches.
  // Up to kDenseRowsMax rows (the serving case) take a vector-matrix path that allocates nothing.
  void predict(const KernelTable& kernels, ThreadPool* pool, const float* x, int rows, float* out);
  // The same, for worker threads: larger batches run on a snapshot of the weights taken under
  // the lock, so the lock is held for a copy rather than for the whole batch, and a predict on
  // the JS thread never waits for a big batch. Concurrent calls of this one run one at a time.
  void predict_detached(const KernelTable& kernels, ThreadPool* pool, const float* x, int rows, float* out);
  // Which dense_rows variant the small-batch path uses ("avx512", "avx2", "portable").
  const char* small_batch_kernel() const { return dense_rows_name_; }

 private:
  Architecture arch_;
  AlignedBuffer<float> params_;
  std::optional<Normalization> normalization_;
  std::optional<TrainingState> training_state_;
  mutable std::mutex mutex_;
  // Predict buffers, under mutex_.
  Network predict_network_;
  Compute predict_compute_;
  AlignedBuffer<float> predict_input_;
  // The small-batch path: two layer outputs of kDenseRowsMax rows, used in turn, sized once.
  DenseRowsFn dense_rows_ = nullptr;
  const char* dense_rows_name_ = "";
  AlignedBuffer<float> small_[2];
  void predict_small(const KernelTable& kernels, const float* x, int rows, float* out);
  // predict_detached's workspace, under detached_mutex_ (taken before mutex_, never after).
  std::mutex detached_mutex_;
  AlignedBuffer<float> detached_params_;
  std::optional<Normalization> detached_normalization_;
  Network detached_network_;
  Compute detached_compute_;
  AlignedBuffer<float> detached_input_;
};

// Standardises rows x cols of x into out (may alias) with the model's normalisation.
void apply_normalization(const Normalization& norm, const float* x, int rows, int cols, float* out);

}  // namespace mlpstream
