// Copying a data set from borrowed memory (a JS typed array) into the run's own memory.
//
// A big training set (60,000 x 784 floats is 188 MB) takes hundreds of milliseconds to copy
// on these VMs, most of it in page faults of the fresh destination; done on the JS thread in
// train(), that stalls the event loop. So the binding copies small arrays at once and leaves
// big ones to the run's thread, which copies them here in slices (checking for cancellation
// between slices), standardises the inputs, and checks that every number is finite (the
// TypeScript side skips its own check for such arrays).
#pragma once

#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "core/nn/model.h"
#include "core/util/aligned_buffer.h"

namespace mlpstream {

// Arrays of more elements than this are copied on the training thread; smaller ones on the
// JS thread (at most ~1 MB: about a millisecond or two even when every page faults).
inline constexpr std::size_t kDeferredCopyElements = std::size_t{1} << 18;

// A problem with the caller's data found while copying it (a NaN or an infinity); the stream
// reports it as a RangeError, like the checks the TypeScript side makes for small arrays.
class InvalidData : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A rows x cols float matrix in memory the binding keeps alive until the copy is done.
struct BorrowedMatrix {
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::string name;  // "data.x": how the TypeScript side names it, for error messages
};

// Index of the first NaN or infinity in x[0, n), or n when every element is finite.
std::size_t first_non_finite(const float* x, std::size_t n);

// "data.x[3][1] is NaN; data must be finite (no NaN or Infinity)"
std::string non_finite_message(const std::string& name, std::size_t index, std::size_t cols, float value);

// Copies `source` into `out` (resized), applying `normalization` when it is not null, and
// checking every element is finite (throws InvalidData naming the first bad one). Works in
// slices of about a megabyte and returns false as soon as `cancel` is raised (out is then
// incomplete).
bool copy_matrix(const BorrowedMatrix& source, const Normalization* normalization, AlignedBuffer<float>& out,
                 const std::atomic<bool>& cancel);

}  // namespace mlpstream
