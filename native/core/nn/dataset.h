// Rows of inputs and targets in native memory.
#pragma once

#include <cstdint>

#include "core/util/aligned_buffer.h"

namespace mlpstream {

// Training (or validation) data owned by native memory for the whole run (copied once from
// JS), already standardised when the model standardises its inputs.
struct Dataset {
  int rows = 0;
  int inputs = 0;
  int outputs = 0;  // target width; for integer labels, the number of classes
  AlignedBuffer<float> x;              // rows x inputs
  AlignedBuffer<float> y;              // rows x outputs (dense targets), or empty
  AlignedBuffer<std::int32_t> labels;  // rows (class indices), or empty
  bool has_labels() const { return !labels.empty(); }
};

}  // namespace mlpstream
