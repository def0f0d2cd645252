// Forward and backward passes of a dense network over one batch, side by side.
// A Network owns the per-batch buffers (activations and deltas for up to `capacity` rows);
// they are allocated by reserve() and reused by every pass, so a training step allocates nothing.
#pragma once

#include <vector>

#include "core/gemm/gemm.h"
#include "core/gemm/kernels.h"
#include "core/nn/architecture.h"
#include "core/util/aligned_buffer.h"

namespace mlpstream {

class ThreadPool;

// What a pass computes with: the kernel table, the GEMM's packing buffers, and the pool.
struct Compute {
  const KernelTable* kernels = nullptr;
  ThreadPool* pool = nullptr;
  GemmWorkspace gemm;
};

// True when `loss` is computed from the output layer's pre-activation (the stable forms):
// binary cross-entropy on a sigmoid output and cross-entropy on a softmax output.
bool loss_uses_logits(Loss loss, Activation output_activation);

class Network {
 public:
  explicit Network(const Architecture& arch);

  const Architecture& architecture() const { return arch_; }
  int capacity() const { return capacity_; }
  // Allocates the buffers for batches of up to `rows` rows. Never called inside a step.
  void reserve(int rows);

  // Forward over `rows` rows of x (ld = inputs). With `logits_out`, the output layer keeps its
  // pre-activation (for the stable losses); otherwise it stores the activation (softmax included).
  void forward(Compute& compute, const float* params, const float* x, int rows, bool logits_out);

  // Loss of the last forward pass against the targets, and the output layer's delta
  // (gradient of the batch-mean loss with respect to the output pre-activation).
  LossSums loss_and_output_delta(Compute& compute, Loss loss, Targets targets, int rows);

  // Backward from the output delta: writes every parameter's gradient into `grads`
  // (same layout as the parameter slab).
  void backward(Compute& compute, const float* params, const float* x, int rows, float* grads);

  // Layer l's output of the last forward pass (rows x units, ld = units).
  const float* activations(std::size_t l) const { return activations_[l].data(); }
  const float* deltas(std::size_t l) const { return deltas_[l].data(); }
  const float* output() const { return activations_.back().data(); }

 private:
  Architecture arch_;
  int capacity_ = 0;
  bool last_forward_logits_ = false;
  std::vector<AlignedBuffer<float>> activations_;
  std::vector<AlignedBuffer<float>> deltas_;
};

}  // namespace mlpstream

namespace mlpstream {
// Null when `loss` can train a network whose output layer has `output_activation`; else why not.
const char* loss_mismatch(Loss loss, Activation output_activation);
}  // namespace mlpstream
