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

// Block sizes of one GEMM micro-kernel, named once, beside the kernel (one row per ISA in
// kernels_<isa>.cc). The driver's five loops (gemm.cc) are cut by these:
struct GemmBlocking {
  int mr;  // loop 1 (ir): rows of the micro-tile, held in registers
  int nr;  // loop 2 (jr): columns of the micro-tile, held in registers (a multiple of the vector width)
  int mc;  // loop 3 (ic): rows of A packed at once; the MC x KC block of A stays in L2
  int kc;  // loop 4 (pc): depth of one rank-KC update; a KC x NR micro-panel of B stays in L1
  int nc;  // loop 5 (jc): columns of B packed at once; the KC x NC block of B stays in L3
};

// What one micro-kernel call does with its tile after the products (see sgemm_ukernel).
struct GemmTileArgs {
  float alpha = 1.0f;
  float beta = 0.0f;  // C = alpha*AB + beta*C; beta == 0: C is not read (later k-blocks pass 1)
  Epilogue::Kind epilogue = Epilogue::Kind::kNone;  // applied only on the last k-block
  ActivationSpec activation{};
  const float* bias = nullptr;  // bias of the tile's first column, or null
  const float* act = nullptr;   // Y at the tile's (0, 0), for kActivationGrad
  std::ptrdiff_t ld_act = 0;
  bool a_packed = false;  // A is a packed sliver (rs_a 1, cs_a MR, zero-padded to MR rows): all MR rows are readable
  bool b_padded = false;  // B is a packed panel, zero-padded to NR columns: full-width loads are safe
  // The tile is of C^T: element (i, j) goes to c[j*ldc + i], bias is indexed by i and Y by
  // act[j*ld_act + i]. The driver computes C^T = op(B)^T op(A)^T this way when C is narrow.
  bool transpose_c = false;
};

// The one micro-kernel signature, every ISA: C[0..mr) x [0..nr) = tile(sum_{p<k} A(i,p) B(p,j)),
// where A(i,p) = a[i*rs_a + p*cs_a] and B(p,j) = b[p*rs_b + j] (B's rows contiguous, so a
// packed panel has rs_b = NR and an unpacked row-major B has rs_b = ldb); with
// args.transpose_c the tile is stored transposed (see GemmTileArgs). mr <= MR and
// nr <= NR; the kernel never reads A rows >= mr nor B columns >= nr, never touches C outside
// the tile, and every C element is the same chain of multiply-adds over p whatever mr, nr and
// the strides are (so packed, unpacked and edge tiles agree bit for bit).
using GemmUkernel = void (*)(int k, const float* a, std::ptrdiff_t rs_a, std::ptrdiff_t cs_a, const float* b,
                             std::ptrdiff_t rs_b, float* c, std::ptrdiff_t ldc, int mr, int nr,
                             const GemmTileArgs& args);

// Hyper-parameters of one optimizer update, as optimizer.cc defines them (PyTorch's forms).
// Every update is one pass over n contiguous parameters; in-place on params and the slots.
struct OptimizerStep {
  float learning_rate = 0.01f;
  float weight_decay = 0.0f;  // L2 added to the gradient (adamw: decoupled, params *= 1 - lr*wd first)
  float momentum = 0.0f;      // sgd
  bool nesterov = false;      // sgd
  bool decoupled = false;     // adamw
  float beta1 = 0.9f;         // adam
  float beta2 = 0.999f;       // adam
  float step_size = 0.0f;     // adam: lr / (1 - beta1^t)
  float bias2_sqrt = 1.0f;    // adam: sqrt(1 - beta2^t)
  float rho = 0.99f;          // rmsprop
  float epsilon = 1e-8f;      // adam, rmsprop
};

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

  // y = log_softmax(z) along each row (max-subtracted).
  void (*log_softmax_rows)(const float* z, int ld_z, float* y, int ld_y, int rows, int cols);

  // --- flat reductions ---
  double (*sum_squares)(const float* x, std::size_t n);

  // --- optimizer updates over n contiguous parameters (see OptimizerStep) ---
  // sgd: g = grad + wd*p; momentum == 0: p -= lr*g; else v = mu*v + g, p -= lr*(nesterov ? g + mu*v : v).
  // velocity may be null when momentum == 0.
  void (*sgd_update)(float* params, const float* grads, float* velocity, std::size_t n, const OptimizerStep& s);
  // adam / adamw (decoupled): m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g*g,
  // p -= step_size * m / (sqrt(v) / bias2_sqrt + eps).
  void (*adam_update)(float* params, const float* grads, float* m, float* v, std::size_t n, const OptimizerStep& s);
  // rmsprop: g = grad + wd*p; sq = rho*sq + (1-rho)*g*g; p -= lr*g / (sqrt(sq) + eps).
  void (*rmsprop_update)(float* params, const float* grads, float* sq, std::size_t n, const OptimizerStep& s);

  // --- GEMM ---
  GemmBlocking gemm_blocking;
  GemmUkernel gemm_ukernel;

  // The FMA peak probe for the benchmarks: `iterations` rounds of independent vector FMAs
  // (no memory traffic); returns the floating-point operations done. *sink defeats dead-code elimination.
  double (*fma_peak)(std::int64_t iterations, float* sink);
};

// The best table this CPU runs, unless MLPSTREAM_ISA (portable|avx2|avx512) asks for a lower
// one. Pure function of the CPU and the environment: safe to call from any thread.
const KernelTable& select_kernels();
// The table for one ISA; falls back to the best supported lower ISA if the CPU lacks it.
const KernelTable& kernels_for(Isa isa);
bool cpu_supports(Isa isa);
#if defined(MLPSTREAM_X86)
// cpu_supports read from CPUID and XCR0 directly (cpuid.cc): what Windows builds use.
bool cpuid_supports(Isa isa);
#endif

// C = epilogue(alpha * op(A) * op(B) + beta * C); op(A) is m x k, op(B) is k x n.
// beta == 0 means C is never read (it may hold NaN). Results do not depend on the pool's
// size: work is split over output tiles only, never over k.
// Which algorithm sgemm uses. kAuto chooses from the shape alone (never from the thread count).
// kPacked packs both operands (BLIS); kUnpacked reads A, and B when not transposed, in place
// (the small-matrix path). The two give bit-identical results; tests force each one.
// kTransposed computes C^T = op(B)^T op(A)^T with the tile stored transposed: for narrow C
// (n <= 16, the classifier layer) it puts the long dimension m in the vector lanes.
enum class GemmPath : std::uint8_t { kAuto = 0, kPacked = 1, kUnpacked = 2, kTransposed = 3 };

void sgemm(const KernelTable& kernels, GemmWorkspace& workspace, ThreadPool* pool, Transpose trans_a,
           Transpose trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc, const Epilogue& epilogue = {}, GemmPath path = GemmPath::kAuto);

}  // namespace mlpstream
