// GEMM internals shared by the driver, the dispatch and the binding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/gemm/kernels.h"
#include "core/util/aligned_buffer.h"

namespace mlpstream {

// Packing buffers for one caller of sgemm (a training session, a predictor, the public BLAS):
// one slot per part of a product that may run at the same time (one per pool thread). Sized
// once, by reserve(), for the largest blocks of every kernel table; sgemm itself only
// allocates if the workspace was never reserved (then once, on the first call).
class GemmWorkspace {
 public:
  GemmWorkspace() = default;
  explicit GemmWorkspace(int slots) { reserve(slots); }

  // Makes room for `slots` concurrent parts. Never shrinks; allocates only when growing.
  void reserve(int slots);
  int slots() const { return static_cast<int>(a_.size()); }
  float* packed_a(int slot) { return a_[static_cast<std::size_t>(slot)].data(); }
  float* packed_b(int slot) { return b_[static_cast<std::size_t>(slot)].data(); }
  // How many times reserve() allocated: a training step must leave this unchanged.
  std::size_t allocations() const { return allocations_; }

 private:
  std::vector<AlignedBuffer<float>> a_;
  std::vector<AlignedBuffer<float>> b_;
  std::size_t allocations_ = 0;
};

// Floats of one slot's packed A and packed B for the largest blocking of any table this build has.
std::size_t gemm_packed_a_floats();
std::size_t gemm_packed_b_floats();

// Minimum work (flops) for a part of a product to be worth a thread. Below this, waking a
// worker and sharing cache lines costs more than the work; a shape-only rule, so the split
// never changes what any element computes.
inline constexpr double kGemmMinFlopsPerPart = 1.0e6;
// Products of at most this many multiply-adds (XOR's 4x4x2 layers) take a plain loop: below
// it the driver's set-up and a 12x32 micro-tile for a handful of outputs cost more than the
// arithmetic. Chosen on the 2-4-1 XOR network (W3), where it halved the native epoch time.
inline constexpr std::int64_t kGemmTinyMacs = 512;

// Applies the epilogue to one finished row segment c[0..n) of row i (reference semantics;
// kernels apply it in registers). Used for the k == 0 / alpha == 0 case.
void apply_epilogue_row(const Epilogue& epilogue, int row, int col0, float* c, int n);

// The path kAuto takes for a shape (exposed so the benchmark can report it).
GemmPath gemm_auto_path(const GemmBlocking& blocking, Transpose trans_a, Transpose trans_b, int m, int n, int k);

}  // namespace mlpstream
