// Owning, 64-byte aligned, uninitialised float (or other trivial) storage.
// Training buffers are sized once (reserve) and reused, so this type deliberately
// has no push_back and no implicit growth: resize() is called at known points only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(_WIN32)
#include <malloc.h>
#endif

namespace mlpstream {

// 64 bytes: one cache line and one AVX-512 register, so vector loads never split lines.
inline constexpr std::size_t kBufferAlignment = 64;

template <typename T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds plain numbers only");

 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t count) { resize(count); }
  AlignedBuffer(const AlignedBuffer& other) { *this = other; }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  AlignedBuffer& operator=(const AlignedBuffer& other) {
    if (this != &other) {
      resize(other.size_);
      if (size_ != 0) std::memcpy(data_, other.data_, size_ * sizeof(T));
    }
    return *this;
  }
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  ~AlignedBuffer() { release(); }

  // Keeps the allocation when shrinking; reallocates (contents not kept) when growing.
  void resize(std::size_t count) {
    if (count > capacity_) {
      release();
      std::size_t bytes = (count * sizeof(T) + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
      void* p = allocate(bytes);
      if (p == nullptr) throw std::bad_alloc();
      data_ = static_cast<T*>(p);
      capacity_ = count;
    }
    size_ = count;
  }
  void fill(T value) {
    for (std::size_t i = 0; i < size_; ++i) data_[i] = value;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  void release() {
    if (data_ != nullptr) return_pages(data_, capacity_ * sizeof(T));
    deallocate(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  // Windows' C runtime has no aligned_alloc (free() could not release its blocks); it has
  // _aligned_malloc, whose blocks only _aligned_free releases.
  static void* allocate(std::size_t bytes) {
#if defined(_WIN32)
    return _aligned_malloc(bytes, kBufferAlignment);
#else
    return std::aligned_alloc(kBufferAlignment, bytes);
#endif
  }
  static void deallocate(void* p) {
#if defined(_WIN32)
    _aligned_free(p);
#else
    std::free(p);
#endif
  }
  // Hands a big buffer's pages back to the kernel a few megabytes at a time before free()
  // unmaps it. Unmapping hundreds of megabytes in one call holds the process's memory-map lock
  // for tens of milliseconds on these VMs, and every other thread that maps memory meanwhile
  // (the JS thread, growing V8's heap) waits for it: a training run freeing its copy of the data
  // stalled the event loop for ~10 ms. madvise(MADV_DONTNEED) only takes the lock for reading.
  static void return_pages(void* p, std::size_t bytes) {
#if defined(__linux__)
    constexpr std::size_t kBig = std::size_t{16} << 20;
    constexpr std::size_t kStep = std::size_t{4} << 20;
    constexpr std::size_t kPage = 4096;
    if (bytes < kBig) return;
    auto begin = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) / kPage * kPage;
    const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) / kPage * kPage;
    for (; begin < end; begin += kStep) {
      const std::size_t n = std::min<std::size_t>(kStep, end - begin);
      madvise(reinterpret_cast<void*>(begin), n, MADV_DONTNEED);
    }
#else
    (void)p;
    (void)bytes;
#endif
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace mlpstream
