// Sequentially consistent access to 32-bit words of memory shared with JavaScript, which
// reads and writes them with Atomics.load/Atomics.store on an Int32Array. The memory is a
// plain buffer (not std::atomic objects), so we use the compiler's atomic builtins on it.
#pragma once

#include <cstdint>

namespace mlpstream::shared_word {

inline std::uint32_t load(const std::uint32_t* word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }
inline void store(std::uint32_t* word, std::uint32_t value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }
inline std::uint32_t exchange(std::uint32_t* word, std::uint32_t value) {
  return __atomic_exchange_n(word, value, __ATOMIC_SEQ_CST);
}

// Counters are epoch counts modulo 2^32; `a` is at or after `b` when the wrapped difference is
// non-negative, which holds as long as they are less than 2^31 apart (they are at most a
// high-water mark apart).
inline bool at_or_after(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) >= 0; }

}  // namespace mlpstream::shared_word
