#include "binding/model_wrap.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "binding/addon.h"
#include "binding/async_worker.h"
#include "binding/convert.h"

namespace mlpstream {

namespace {

constexpr int kMaxUnits = 1 << 24;
constexpr int kMaxLayers = 4096;

ActivationSpec activation_from(Napi::Env env, const Napi::Value& code, const Napi::Value& slope) {
  const auto kind = convert::integer(code, "activation code", 0, static_cast<int>(Activation::kSoftmax));
  const double s = convert::number(slope, "leaky slope");
  if (s < 0.0 || s >= 1.0) convert::throw_range(env, "leaky slope must be in [0, 1)");
  return ActivationSpec{static_cast<Activation>(kind), static_cast<float>(s)};
}

// Throws a RangeError naming the first NaN or infinity of rows x cols values (TypeScript passes
// Float32Array inputs through unchecked so that the serving path pays for one pass in C++).
void require_finite(Napi::Env env, const float* x, std::size_t n, int cols, const char* name) {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  if (bad == 0) return;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      const std::size_t c = static_cast<std::size_t>(cols);
      convert::throw_range(env, std::string(name) + "[" + std::to_string(i / c) + "][" + std::to_string(i % c) + "] is " +
                                    (std::isnan(x[i]) ? "NaN" : x[i] > 0 ? "Infinity" : "-Infinity") +
                                    "; data must be finite (no NaN or Infinity)");
    }
  }
}

Napi::Float32Array copy_to_js(Napi::Env env, const float* data, std::size_t n) {
  auto out = Napi::Float32Array::New(env, n);
  if (n != 0) std::memcpy(out.Data(), data, n * sizeof(float));
  return out;
}

// Runs a batch prediction off the JS thread. The input is copied first: a typed array's
// memory may be detached or reused by JS while the work runs.
class PredictWorker : public PromiseWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<Model> model, const KernelTable& kernels, ThreadPool* pool,
                const float* x, int rows)
      : PromiseWorker(env, "mlpstream.predictAsync"), model_(std::move(model)), kernels_(kernels), pool_(pool),
        rows_(rows),
        input_(addon_data(env).staging,
               static_cast<std::size_t>(rows) * static_cast<std::size_t>(model_->architecture().inputs()), x),
        output_(addon_data(env).staging,
                static_cast<std::size_t>(rows) * static_cast<std::size_t>(model_->architecture().outputs())) {}

  void Execute() override {
    try {
      model_->predict_detached(kernels_, pool_, input_.data(), rows_, output_.data());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  Napi::Value Result(Napi::Env env) override { return copy_to_js(env, output_.data(), output_.size()); }

 private:
  std::shared_ptr<Model> model_;
  const KernelTable& kernels_;
  ThreadPool* pool_;
  int rows_;
  Staged input_;
  Staged output_;
};

}  // namespace

Napi::Function ModelWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceMethod<&ModelWrap::param_count>("paramCount"),
                         InstanceMethod<&ModelWrap::get_params>("getParams"),
                         InstanceMethod<&ModelWrap::set_params>("setParams"),
                         InstanceMethod<&ModelWrap::predict>("predict"),
                         InstanceMethod<&ModelWrap::predict_async>("predictAsync"),
                         InstanceMethod<&ModelWrap::set_normalization>("setNormalization"),
                         InstanceMethod<&ModelWrap::get_normalization>("getNormalization"),
                         InstanceMethod<&ModelWrap::get_training_state>("getTrainingState"),
                         InstanceMethod<&ModelWrap::set_training_state>("setTrainingState"),
                         InstanceMethod<&ModelWrap::loss_and_gradients>("lossAndGradients"),
                         InstanceMethod<&ModelWrap::is_training>("isTraining"),
                         InstanceMethod<&ModelWrap::predict_kernel>("predictKernel"),
                         InstanceMethod<&ModelWrap::snapshot>("snapshot"),
                     });
}

// new NativeModel(inputs, units[], activationCodes[], leakySlopes[], seed, initCodes[]?)
ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) convert::throw_type(env, "NativeModel(inputs, units, activations, slopes, seed)");
  const int inputs = static_cast<int>(convert::integer(info[0], "inputs", 1, kMaxUnits));
  if (!info[1].IsArray() || !info[2].IsArray() || !info[3].IsArray()) {
    convert::throw_type(env, "units, activations and slopes must be arrays");
  }
  const auto units = info[1].As<Napi::Array>();
  const auto activations = info[2].As<Napi::Array>();
  const auto slopes = info[3].As<Napi::Array>();
  if (units.Length() < 1 || units.Length() > kMaxLayers || activations.Length() != units.Length() ||
      slopes.Length() != units.Length()) {
    convert::throw_range(env, "units, activations and slopes must have the same length, 1 to 4096");
  }
  std::vector<LayerSpec> layers;
  for (std::uint32_t l = 0; l < units.Length(); ++l) {
    LayerSpec spec;
    spec.units = static_cast<int>(convert::integer(units.Get(l), "units", 1, kMaxUnits));
    spec.activation = activation_from(env, activations.Get(l), slopes.Get(l));
    if (info.Length() > 5 && info[5].IsArray()) {
      const auto inits = info[5].As<Napi::Array>();
      if (inits.Length() != units.Length()) convert::throw_range(env, "inits must have one entry per layer");
      spec.init = static_cast<WeightInit>(convert::integer(inits.Get(l), "init code", 0, 4));
    }
    layers.push_back(spec);
  }
  const auto seed = static_cast<std::uint64_t>(convert::integer(info[4], "seed", 0, (std::int64_t{1} << 53)));
  try {
    model_ = std::make_shared<Model>(Architecture(inputs, std::move(layers)));
  } catch (const std::invalid_argument& e) {
    convert::throw_range(env, e.what());
  }
  model_->initialize(seed);
}

void ModelWrap::require_idle(Napi::Env env, const char* action) const {
  if (training()) {
    Napi::Error error = Napi::Error::New(env, std::string("cannot ") + action + " while the model is training");
    error.Set("code", Napi::String::New(env, "ERR_MODEL_BUSY"));
    throw error;
  }
}

Napi::Value ModelWrap::param_count(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(model_->architecture().param_count()));
}

Napi::Value ModelWrap::is_training(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), training()); }

// Which vector-matrix kernel serves batches of up to 4 rows ("avx512", "avx2", "portable").
Napi::Value ModelWrap::predict_kernel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), model_->small_batch_kernel());
}

Napi::Value ModelWrap::get_params(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(model_->mutex());
  return copy_to_js(info.Env(), model_->params().data(), model_->params().size());
}

void ModelWrap::set_params(const Napi::CallbackInfo& info) {
  require_idle(info.Env(), "set weights");
  auto params = convert::float32_array(info[0], "params");
  std::lock_guard<std::mutex> lock(model_->mutex());
  convert::require_length(params, model_->params().size(), "params");
  std::memcpy(model_->params().data(), params.Data(), params.ElementLength() * sizeof(float));
  // New weights make any saved optimizer state meaningless for them.
  model_->training_state().reset();
}

// predict(x: Float32Array, rows, out?: Float32Array): Float32Array (rows x outputs)
// The serving path: with `out` given it allocates nothing (the model's own buffers are reused).
Napi::Float32Array ModelWrap::predict_input(const Napi::CallbackInfo& info, int& rows) {
  auto x = convert::float32_array(info[0], "x");
  rows = static_cast<int>(convert::integer(info[1], "rows", 0, 1 << 30));
  const Architecture& arch = model_->architecture();
  convert::require_length(x, static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch.inputs()), "x");
  require_finite(info.Env(), x.Data(), x.ElementLength(), arch.inputs(), "x");
  return x;
}

Napi::Value ModelWrap::predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rows = 0;
  auto x = predict_input(info, rows);
  const Architecture& arch = model_->architecture();
  const std::size_t out_length = static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch.outputs());
  Napi::Float32Array out;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    out = convert::float32_array(info[2], "out");
    convert::require_length(out, out_length, "out");
  } else {
    out = Napi::Float32Array::New(env, out_length);
  }
  if (rows == 0) return out;
  AddonData& data = addon_data(env);
  model_->predict(*data.kernels, data.pool.get(), x.Data(), rows, out.Data());
  return out;
}

Napi::Value ModelWrap::predict_async(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int rows = 0;
  auto x = predict_input(info, rows);
  AddonData& data = addon_data(env);
  auto* worker = new PredictWorker(env, model_, *data.kernels, data.pool.get(), x.Data(), rows);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// setNormalization(mean: Float32Array, std: Float32Array) or setNormalization(null)
void ModelWrap::set_normalization(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_idle(env, "change the normalisation");
  const std::size_t inputs = static_cast<std::size_t>(model_->architecture().inputs());
  if (info[0].IsNull() || info[0].IsUndefined()) {
    std::lock_guard<std::mutex> lock(model_->mutex());
    model_->normalization().reset();
    return;
  }
  auto mean = convert::float32_array(info[0], "mean");
  auto std_dev = convert::float32_array(info[1], "std");
  convert::require_length(mean, inputs, "mean");
  convert::require_length(std_dev, inputs, "std");
  Normalization norm;
  norm.mean.resize(inputs);
  norm.inv_std.resize(inputs);
  for (std::size_t i = 0; i < inputs; ++i) {
    const float s = std_dev.Data()[i];
    if (!std::isfinite(mean.Data()[i]) || !std::isfinite(s) || s <= 0.0f) {
      convert::throw_range(env, "normalisation needs finite means and positive finite standard deviations (feature " +
                                    std::to_string(i) + ")");
    }
    norm.mean[i] = mean.Data()[i];
    norm.inv_std[i] = 1.0f / s;
  }
  std::lock_guard<std::mutex> lock(model_->mutex());
  model_->normalization() = std::move(norm);
}

namespace {

// The two readers below and snapshot() share these; the caller holds the model's lock.
Napi::Value normalization_locked(Napi::Env env, const Model& model) {
  if (!model.normalization()) return env.Null();
  const Normalization& norm = *model.normalization();
  Napi::Object out = Napi::Object::New(env);
  out.Set("mean", copy_to_js(env, norm.mean.data(), norm.mean.size()));
  auto std_dev = Napi::Float32Array::New(env, norm.inv_std.size());
  for (std::size_t i = 0; i < norm.inv_std.size(); ++i) std_dev.Data()[i] = 1.0f / norm.inv_std[i];
  out.Set("std", std_dev);
  return out;
}

// { epochsDone, rng: BigUint64Array(4), optimizer: { kind, step, slots: Float32Array[] } } or null
Napi::Value training_state_locked(Napi::Env env, Model& model) {
  const auto& state = model.training_state();
  if (!state) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  out.Set("epochsDone", Napi::Number::New(env, static_cast<double>(state->epochs_done)));
  auto rng = Napi::BigUint64Array::New(env, 4);
  for (std::size_t i = 0; i < 4; ++i) rng.Data()[i] = state->rng[i];
  out.Set("rng", rng);
  Napi::Object optimizer = Napi::Object::New(env);
  optimizer.Set("kind", Napi::Number::New(env, static_cast<double>(state->optimizer_config.kind)));
  optimizer.Set("step", Napi::Number::New(env, static_cast<double>(state->optimizer.step)));
  Napi::Array slots = Napi::Array::New(env, state->optimizer.slots.size());
  for (std::size_t s = 0; s < state->optimizer.slots.size(); ++s) {
    slots.Set(static_cast<std::uint32_t>(s),
              copy_to_js(env, state->optimizer.slots[s].data(), state->optimizer.slots[s].size()));
  }
  optimizer.Set("slots", slots);
  out.Set("optimizer", optimizer);
  Napi::Object schedule = Napi::Object::New(env);
  schedule.Set("scale", state->schedule.scale);
  schedule.Set("best", state->schedule.best);
  schedule.Set("wait", static_cast<double>(state->schedule.wait));
  schedule.Set("cooldown", static_cast<double>(state->schedule.cooldown));
  out.Set("schedule", schedule);
  Napi::Object early = Napi::Object::New(env);
  early.Set("best", state->early_best);
  early.Set("bestEpoch", static_cast<double>(state->early_best_epoch));
  early.Set("wait", static_cast<double>(state->early_wait));
  out.Set("earlyStopping", early);
  return out;
}

}  // namespace

Napi::Value ModelWrap::get_normalization(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(model_->mutex());
  return normalization_locked(info.Env(), *model_);
}

Napi::Value ModelWrap::get_training_state(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(model_->mutex());
  return training_state_locked(info.Env(), *model_);
}

// { params, normalization, trainingState } read under one lock: a training run commits weights
// and optimizer state together at each epoch end, so a save during training gets one epoch's
// weights with that same epoch's state, never a mix.
Napi::Value ModelWrap::snapshot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(model_->mutex());
  Napi::Object out = Napi::Object::New(env);
  out.Set("params", copy_to_js(env, model_->params().data(), model_->params().size()));
  out.Set("normalization", normalization_locked(env, *model_));
  out.Set("trainingState", training_state_locked(env, *model_));
  return out;
}

void ModelWrap::set_training_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require_idle(env, "restore a training state");
  if (info[0].IsNull() || info[0].IsUndefined()) {
    std::lock_guard<std::mutex> lock(model_->mutex());
    model_->training_state().reset();
    return;
  }
  if (!info[0].IsObject()) convert::throw_type(env, "training state must be an object");
  Napi::Object in = info[0].As<Napi::Object>();
  TrainingState state;
  state.epochs_done = convert::integer(in.Get("epochsDone"), "epochsDone", 0, std::int64_t{1} << 53);
  Napi::Value rng_value = in.Get("rng");
  if (!rng_value.IsTypedArray() || rng_value.As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array ||
      rng_value.As<Napi::TypedArray>().ElementLength() != 4) {
    convert::throw_type(env, "training state rng must be a BigUint64Array of 4");
  }
  auto rng = rng_value.As<Napi::BigUint64Array>();
  for (std::size_t i = 0; i < 4; ++i) state.rng[i] = rng.Data()[i];
  if (!in.Get("optimizer").IsObject()) convert::throw_type(env, "training state optimizer must be an object");
  Napi::Object optimizer = in.Get("optimizer").As<Napi::Object>();
  state.optimizer_config.kind = static_cast<OptimizerKind>(
      convert::integer(optimizer.Get("kind"), "optimizer kind", 0, static_cast<int>(OptimizerKind::kLbfgs)));
  state.optimizer.step = convert::integer(optimizer.Get("step"), "optimizer step", 0, std::int64_t{1} << 53);
  if (!optimizer.Get("slots").IsArray()) convert::throw_type(env, "optimizer slots must be an array");
  Napi::Array slots = optimizer.Get("slots").As<Napi::Array>();
  if (slots.Length() > 4) convert::throw_range(env, "optimizer has at most 4 state slots");
  for (std::uint32_t s = 0; s < slots.Length(); ++s) {
    auto slot = convert::float32_array(slots.Get(s), "optimizer slot");
    convert::require_length(slot, model_->params().size(), "optimizer slot");
    AlignedBuffer<float> copy(slot.ElementLength());
    std::memcpy(copy.data(), slot.Data(), slot.ElementLength() * sizeof(float));
    state.optimizer.slots.push_back(std::move(copy));
  }
  // Schedule and early-stopping bookkeeping are optional (older checkpoints have neither);
  // their "best" values may be NaN or infinite (nothing seen yet).
  auto any_number = [&](const Napi::Value& v, const char* what, double fallback) {
    if (v.IsUndefined() || v.IsNull()) return fallback;
    if (!v.IsNumber()) convert::throw_type(env, std::string(what) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  };
  constexpr std::int64_t kMaxCount = std::int64_t{1} << 53;
  if (in.Get("schedule").IsObject()) {
    Napi::Object schedule = in.Get("schedule").As<Napi::Object>();
    state.schedule.scale = any_number(schedule.Get("scale"), "schedule.scale", 1.0);
    if (!(state.schedule.scale > 0 && state.schedule.scale <= 1)) convert::throw_range(env, "schedule.scale must be in (0, 1]");
    state.schedule.best = any_number(schedule.Get("best"), "schedule.best", std::numeric_limits<double>::infinity());
    state.schedule.wait = convert::integer(schedule.Get("wait"), "schedule.wait", 0, kMaxCount);
    state.schedule.cooldown = convert::integer(schedule.Get("cooldown"), "schedule.cooldown", 0, kMaxCount);
  }
  if (in.Get("earlyStopping").IsObject()) {
    Napi::Object early = in.Get("earlyStopping").As<Napi::Object>();
    state.early_best = any_number(early.Get("best"), "earlyStopping.best", std::numeric_limits<double>::quiet_NaN());
    state.early_best_epoch = convert::integer(early.Get("bestEpoch"), "earlyStopping.bestEpoch", 0, kMaxCount);
    state.early_wait = convert::integer(early.Get("wait"), "earlyStopping.wait", 0, kMaxCount);
  }
  std::lock_guard<std::mutex> lock(model_->mutex());
  model_->training_state() = std::move(state);
}

// lossAndGradients(x, rows, y|null, labels|null, lossCode) -> { loss, grads }
// One forward and backward pass on the committed weights, for gradient checks and analysis.
Napi::Value ModelWrap::loss_and_gradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Architecture& arch = model_->architecture();
  auto x = convert::float32_array(info[0], "x");
  const int rows = static_cast<int>(convert::integer(info[1], "rows", 1, 1 << 24));
  convert::require_length(x, static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch.inputs()), "x");
  const auto loss = static_cast<Loss>(convert::integer(info[4], "loss code", 0, 2));
  Targets targets;
  if (!info[2].IsNull()) {
    auto y = convert::float32_array(info[2], "y");
    convert::require_length(y, static_cast<std::size_t>(rows) * static_cast<std::size_t>(arch.outputs()), "y");
    targets.dense = y.Data();
  } else {
    auto labels = convert::int32_array(info[3], "labels");
    convert::require_length(labels, static_cast<std::size_t>(rows), "labels");
    for (std::size_t i = 0; i < labels.ElementLength(); ++i) {
      if (labels.Data()[i] < 0 || labels.Data()[i] >= arch.outputs()) convert::throw_range(env, "label out of range");
    }
    targets.labels = labels.Data();
  }
  if (const char* mismatch = loss_mismatch(loss, arch.layer(arch.depth() - 1).activation.kind)) {
    convert::throw_range(env, mismatch);
  }
  AddonData& data = addon_data(env);
  Compute compute;
  compute.kernels = data.kernels;
  compute.pool = data.pool.get();
  Network network(arch);
  network.reserve(rows);
  auto grads = Napi::Float32Array::New(env, arch.param_count());
  const bool logits = loss_uses_logits(loss, arch.layer(arch.depth() - 1).activation.kind);
  LossSums sums;
  {
    std::lock_guard<std::mutex> lock(model_->mutex());
    AlignedBuffer<float> input(x.ElementLength());
    std::memcpy(input.data(), x.Data(), x.ElementLength() * sizeof(float));
    if (model_->normalization()) apply_normalization(*model_->normalization(), input.data(), rows, arch.inputs(), input.data());
    network.forward(compute, model_->params().data(), input.data(), rows, logits);
    sums = network.loss_and_output_delta(compute, loss, targets, rows);
    network.backward(compute, model_->params().data(), input.data(), rows, grads.Data());
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", Napi::Number::New(env, sums.loss / rows));
  out.Set("grads", grads);
  return out;
}

void init_model(Napi::Env env, Napi::Object exports, AddonData& data) {
  Napi::Function ctor = ModelWrap::define(env);
  data.model_constructor = Napi::Persistent(ctor);
  exports.Set("NativeModel", ctor);
}

}  // namespace mlpstream
