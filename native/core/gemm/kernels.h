// The one internal interface between the network code and the numeric kernels.
//
// Everything the training loop computes on matrices goes through here: GEMM with
// transposes, alpha/beta and a fused epilogue, and the element-wise / row kernels
// (activations, softmax, losses, reductions, optimizer updates). Each ISA provides one
// KernelTable; select_kernels() picks the best one the CPU supports (or the one forced by
// MLPSTREAM_ISA), and callers only ever hold a `const KernelTable&`.
//
// All matrices are row-major float32 with an explicit leading dimension (elements between
// the starts of consecutive rows).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mlpstream {

enum class Activation : std::uint8_t { kLinear = 0, kSigmoid = 1, kTanh = 2, kRelu = 3, kLeakyRelu = 4, kSoftmax = 5 };

struct ActivationSpec {
  Activation kind = Activation::kLinear;
  float leaky_slope = 0.01f;  // used by kLeakyRelu only; validated to lie in [0, 1)
};

enum class Transpose : std::uint8_t { kNo = 0, kYes = 1 };

// What the GEMM does with each finished element acc = alpha * sum_k op(A)[i,k] op(B)[k,j]
// (plus beta * C[i,j] when beta != 0) before it stores C[i,j]. Fusing these saves a full
// pass over C in the forward pass and in the backward deltas.
struct Epilogue {
  enum class Kind : std::uint8_t {
    kNone,            // C = acc
    kBiasActivation,  // C = f(acc + bias[j]); bias may be null; f never softmax
    kActivationGrad,  // C = acc * f'(Y[i,j]), f' written in terms of the activation's output Y
  };
  Kind kind = Kind::kNone;
  const float* bias = nullptr;
  ActivationSpec activation{};
  const float* act_output = nullptr;  // Y for kActivationGrad, m x n with leading dimension ld_act_output
  int ld_act_output = 0;
};

enum class Loss : std::uint8_t { kMse = 0, kBinaryCrossEntropy = 1, kCrossEntropy = 2 };

// Targets of one batch: dense rows (rows x outputs) or, for cross-entropy, integer classes.
struct Targets {
  const float* dense = nullptr;
  const std::int32_t* labels = nullptr;
};

// Sums over one batch, accumulated in double so an epoch of many batches stays exact enough.
struct LossSums {
  double loss = 0;         // sum over rows of each row's loss (mean over outputs for mse / bce)
  double correct = 0;      // classification: correct rows (ce) or correct outputs (bce)
  double squared_error = 0;  // mse: sum of squared errors over all outputs
};

enum class Isa : std::uint8_t { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

class ThreadPool;
class GemmWorkspace;

// Per-ISA function table. Every entry is implemented for every ISA (a table may point at
// the portable function where vectorising gains nothing).
struct KernelTable {
  const char* name;  // e.g. "avx512", reported by kernelName()
  Isa isa;

  // --- element-wise, over n contiguous floats (in place allowed: y may equal x) ---
  // y = f(x); f is never softmax here.
  void (*activation_forward)(ActivationSpec f, const float* x, float* y, std::size_t n);
  // dx = dy * f'(.) where f' is written through f's output y (valid for every non-softmax f).
  void (*activation_backward)(ActivationSpec f, const float* y, const float* dy, float* dx, std::size_t n);

  // --- row kernels on a rows x cols matrix with leading dimension ld ---
  // y = softmax(z) along each row (max-subtracted, so stable for any finite z).
  void (*softmax_rows)(const float* z, int ld_z, float* y, int ld_y, int rows, int cols);
  // out[j] = sum_i x[i, j]: the bias gradient.
  void (*column_sums)(const float* x, int ld, int rows, int cols, float* out);
  // Loss over a batch given the output layer's values `out` (logits for bce with a sigmoid
  // output and for ce with a softmax output; activations for mse), and the gradient with
  // respect to the output layer's pre-activation (for mse: with respect to the activation;
  // the caller applies f'). `scale` multiplies the gradient (1 / (rows * outputs) for the
  // per-output means, 1 / rows for ce), so the batch loss is a mean as in PyTorch and Keras.
  LossSums (*loss_and_grad)(Loss loss, const float* out, int ld_out, Targets targets, int rows, int cols,
                            float scale, float* grad, int ld_grad);

  // --- flat reductions ---
  double (*sum_squares)(const float* x, std::size_t n);
};

// The best table this CPU runs, unless MLPSTREAM_ISA (portable|avx2|avx512) asks for a lower
// one. Pure function of the CPU and the environment: safe to call from any thread.
const KernelTable& select_kernels();
// The table for one ISA; falls back to the best supported lower ISA if the CPU lacks it.
const KernelTable& kernels_for(Isa isa);
bool cpu_supports(Isa isa);

// C = epilogue(alpha * op(A) * op(B) + beta * C); op(A) is m x k, op(B) is k x n.
// beta == 0 means C is never read (it may hold NaN). Results do not depend on the pool's
// size: work is split over output tiles only, never over k.
void sgemm(const KernelTable& kernels, GemmWorkspace& workspace, ThreadPool* pool, Transpose trans_a,
           Transpose trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc, const Epilogue& epilogue = {});

}  // namespace mlpstream
