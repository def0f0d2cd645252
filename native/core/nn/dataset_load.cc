#include "core/nn/dataset_load.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace mlpstream {

std::size_t first_non_finite(const float* x, std::size_t n) {
  // A float is NaN or infinite when its exponent bits are all ones. Branch-free over blocks
  // (the compiler vectorises the integer test), then find the element in a bad block.
  constexpr std::size_t kBlock = 256;
  for (std::size_t start = 0; start < n; start += kBlock) {
    const std::size_t end = std::min(n, start + kBlock);
    std::uint32_t any = 0;
    for (std::size_t i = start; i < end; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, x + i, sizeof(bits));
      any |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (any != 0) {
      for (std::size_t i = start; i < end; ++i) {
        if (!std::isfinite(x[i])) return i;
      }
    }
  }
  return n;
}

std::string non_finite_message(const std::string& name, std::size_t index, std::size_t cols, float value) {
  const char* shown = std::isnan(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  return name + "[" + std::to_string(index / cols) + "][" + std::to_string(index % cols) + "] is " + shown +
         "; data must be finite (no NaN or Infinity)";
}

bool copy_matrix(const BorrowedMatrix& source, const Normalization* normalization, AlignedBuffer<float>& out,
                 const std::atomic<bool>& cancel) {
  const std::size_t cols = source.cols;
  out.resize(source.rows * cols);
  // About a megabyte a slice: a few milliseconds at most, even when every page faults.
  const std::size_t slice_rows = std::max<std::size_t>(1, (std::size_t{1} << 18) / std::max<std::size_t>(cols, 1));
  for (std::size_t row = 0; row < source.rows; row += slice_rows) {
    if (cancel.load(std::memory_order_relaxed)) return false;
    const std::size_t rows = std::min(slice_rows, source.rows - row);
    const float* from = source.data + row * cols;
    const std::size_t count = rows * cols;
    const std::size_t bad = first_non_finite(from, count);
    if (bad != count) throw InvalidData(non_finite_message(source.name, row * cols + bad, cols, from[bad]));
    float* to = out.data() + row * cols;
    if (normalization != nullptr) {
      apply_normalization(*normalization, from, static_cast<int>(rows), static_cast<int>(cols), to);
    } else {
      std::memcpy(to, from, count * sizeof(float));
    }
  }
  return true;
}

}  // namespace mlpstream
