// Conversions from JS values to plain C++ values. The TypeScript layer validates every
// argument first; these checks are the last line, so that a wrong call from JS can only
// ever throw, never crash.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace mlpstream::convert {

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

inline double number(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw_type(v.Env(), std::string(what) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_range(v.Env(), std::string(what) + " must be finite");
  return d;
}

inline std::int64_t integer(const Napi::Value& v, const char* what, std::int64_t min, std::int64_t max) {
  const double d = number(v, what);
  if (d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    throw_range(v.Env(), std::string(what) + " must be an integer in [" + std::to_string(min) + ", " +
                             std::to_string(max) + "]");
  }
  return static_cast<std::int64_t>(d);
}

inline bool boolean(const Napi::Value& v, const char* what) {
  if (!v.IsBoolean()) throw_type(v.Env(), std::string(what) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

template <typename T, napi_typedarray_type kType>
Napi::TypedArrayOf<T> typed_array(const Napi::Value& v, const char* what, const char* type_name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType) {
    throw_type(v.Env(), std::string(what) + " must be a " + type_name);
  }
  return v.As<Napi::TypedArrayOf<T>>();
}

inline Napi::Float32Array float32_array(const Napi::Value& v, const char* what) {
  return typed_array<float, napi_float32_array>(v, what, "Float32Array");
}
inline Napi::Int32Array int32_array(const Napi::Value& v, const char* what) {
  return typed_array<std::int32_t, napi_int32_array>(v, what, "Int32Array");
}

inline void require_length(const Napi::TypedArray& a, std::size_t expected, const char* what) {
  if (a.ElementLength() != expected) {
    throw_range(a.Env(), std::string(what) + " has " + std::to_string(a.ElementLength()) + " elements, expected " +
                             std::to_string(expected));
  }
}

}  // namespace mlpstream::convert
