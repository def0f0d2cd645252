// A training session: the JS handle of one TrainingRun. The TypeScript stream calls
// allow() as its consumer reads, drain() to take finished epochs, and close() at the end;
// the run's thread calls back (through a thread-safe function) only when the stream is
// waiting for something new.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding/addon.h"
#include "binding/convert.h"
#include "binding/model_wrap.h"
#include "core/nn/dataset_load.h"
#include "core/nn/training_run.h"
#include "core/util/shared_word.h"

namespace mlpstream {

// One data set on its way into native memory: the labels are copied (and checked) at once;
// x and dense targets too when they are small, else they stay borrowed from their JS arrays
// (referenced by the session) until the training thread copies them (dataset_load.h).
struct PendingDataset {
  Dataset dataset;
  BorrowedMatrix x;  // data == nullptr: already copied
  BorrowedMatrix y;
};

// Copies `array` now, or records it as borrowed (and references it) when it is big.
void take_matrix(Napi::Env env, const Napi::Float32Array& array, std::size_t rows, std::size_t cols,
                 const std::string& name, const Normalization* normalization, AlignedBuffer<float>& out,
                 BorrowedMatrix& borrowed, std::vector<Napi::Reference<Napi::Value>>& keep) {
  BorrowedMatrix source{array.Data(), rows, cols, name};
  if (array.ElementLength() > kDeferredCopyElements) {
    borrowed = std::move(source);
    keep.push_back(Napi::Persistent(static_cast<Napi::Value>(array)));
    return;
  }
  const std::atomic<bool> never{false};
  try {
    copy_matrix(source, normalization, out, never);
  } catch (const InvalidData& e) {
    convert::throw_range(env, e.what());
  }
}

// Takes one data set (x and dense targets or integer labels); `name` is how the TypeScript
// side calls it ("data", "options.validationData"), for messages.
PendingDataset dataset_from(Napi::Env env, Model& model, const Napi::Value& x_value, const Napi::Value& rows_value,
                            const Napi::Value& y_value, const Napi::Value& labels_value, Loss loss,
                            const std::string& name, std::vector<Napi::Reference<Napi::Value>>& keep) {
  const Architecture& arch = model.architecture();
  PendingDataset pending;
  Dataset& dataset = pending.dataset;
  dataset.rows = static_cast<int>(convert::integer(rows_value, "rows", 1, (std::int64_t{1} << 31) - 1));
  dataset.inputs = arch.inputs();
  dataset.outputs = arch.outputs();
  const auto rows = static_cast<std::size_t>(dataset.rows);
  auto x = convert::float32_array(x_value, "x");
  convert::require_length(x, rows * static_cast<std::size_t>(arch.inputs()), "x");
  {
    // The normalisation cannot change while the model trains (setNormalization refuses), so
    // the thread may read it later without the lock.
    std::lock_guard<std::mutex> lock(model.mutex());
    const Normalization* normalization = model.normalization() ? &*model.normalization() : nullptr;
    take_matrix(env, x, rows, static_cast<std::size_t>(arch.inputs()), name + ".x", normalization, dataset.x,
                pending.x, keep);
  }
  if (!y_value.IsNull() && !y_value.IsUndefined()) {
    auto y = convert::float32_array(y_value, "y");
    convert::require_length(y, rows * static_cast<std::size_t>(arch.outputs()), "y");
    take_matrix(env, y, rows, static_cast<std::size_t>(arch.outputs()), name + ".y", nullptr, dataset.y, pending.y,
                keep);
  } else {
    if (loss != Loss::kCrossEntropy) convert::throw_type(env, "integer labels are only for crossEntropy");
    auto labels = convert::int32_array(labels_value, "labels");
    convert::require_length(labels, rows, "labels");
    dataset.labels.resize(labels.ElementLength());
    for (std::size_t i = 0; i < labels.ElementLength(); ++i) {
      const std::int32_t label = labels.Data()[i];
      if (label < 0 || label >= arch.outputs()) {
        convert::throw_range(env, name + ": label " + std::to_string(label) + " at row " + std::to_string(i) +
                                      " is outside [0, " + std::to_string(arch.outputs()) + ")");
      }
      dataset.labels[i] = label;
    }
  }
  return pending;
}

// Finishes a data set on the training thread: copies what is still borrowed. False if cancelled.
bool complete_dataset(PendingDataset& pending, const Model& model, const std::atomic<bool>& cancel) {
  const Normalization* normalization = model.normalization() ? &*model.normalization() : nullptr;
  if (pending.x.data != nullptr && !copy_matrix(pending.x, normalization, pending.dataset.x, cancel)) return false;
  if (pending.y.data != nullptr && !copy_matrix(pending.y, nullptr, pending.dataset.y, cancel)) return false;
  pending.x = {};
  pending.y = {};
  return true;
}

// Calls the stream's notify function on the JS thread. Not node-addon-api's default, which
// turns a failed call into a C++ exception: while a worker is being terminated (or the process
// exits) the environment can no longer run JS, the call fails, and that exception, thrown out
// of a libuv callback, aborted the process. Such a failure means there is nobody left to
// notify. (The notify function itself never throws: it only schedules the stream's work.)
void call_notify(Napi::Env env, Napi::Function callback, std::nullptr_t*, void*) {
  if (env == nullptr || callback.IsEmpty()) return;
  napi_value receiver = nullptr;
  napi_value ignored = nullptr;
  if (napi_get_undefined(env, &receiver) != napi_ok) return;
  napi_call_function(env, receiver, callback, 0, nullptr, &ignored);
}
using NotifyFunction = Napi::TypedThreadSafeFunction<std::nullptr_t, void, call_notify>;

// Largest ring of epoch records shared with a stream (records of ~20-100 doubles each).
constexpr std::uint32_t kMaxRingRecords = 1024;

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeSession",
                       {
                           InstanceMethod<&SessionWrap::start>("start"),
                           InstanceMethod<&SessionWrap::wake>("wake"),
                           InstanceMethod<&SessionWrap::cancel>("cancel"),
                           InstanceMethod<&SessionWrap::outcome>("outcome"),
                           InstanceMethod<&SessionWrap::ref>("ref"),
                           InstanceMethod<&SessionWrap::unref>("unref"),
                           InstanceMethod<&SessionWrap::close>("close"),
                           InstanceMethod<&SessionWrap::release_inputs>("releaseInputs"),
                           InstanceMethod<&SessionWrap::feed>("feed"),
                           InstanceMethod<&SessionWrap::end_epoch>("endEpoch"),
                           InstanceAccessor<&SessionWrap::control>("control"),
                           InstanceAccessor<&SessionWrap::ring>("ring"),
                       });
  }

  // new NativeSession(model, x, rows, y|null, labels|null, config, notify)
  // config.highWaterMark sizes the ring of records shared with the stream.
  explicit SessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SessionWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 7 || !info[0].IsObject() || !info[5].IsObject() || !info[6].IsFunction()) {
      convert::throw_type(env, "NativeSession(model, x, rows, y, labels, config, notify)");
    }
    Napi::Object model_object = info[0].As<Napi::Object>();
    AddonData& data = addon_data(env);
    if (!model_object.InstanceOf(data.model_constructor.Value())) convert::throw_type(env, "model must be a NativeModel");
    model_wrap_ = ModelWrap::Unwrap(model_object);
    if (model_wrap_->training()) {
      Napi::Error error = Napi::Error::New(env, "this model is already training; wait for that run to end or cancel it");
      error.Set("code", Napi::String::New(env, "ERR_MODEL_BUSY"));
      throw error;
    }
    std::shared_ptr<Model> model = model_wrap_->model();
    const Architecture& arch = model->architecture();
    Napi::Object config = info[5].As<Napi::Object>();
    TrainConfig train;
    train.loss = static_cast<Loss>(convert::integer(config.Get("loss"), "loss code", 0, 2));
    if (const char* mismatch = loss_mismatch(train.loss, arch.layer(arch.depth() - 1).activation.kind)) {
      convert::throw_range(env, mismatch);
    }
    train.batch_size = static_cast<int>(convert::integer(config.Get("batchSize"), "batchSize", 0, 1 << 30));
    train.shuffle = convert::boolean(config.Get("shuffle"), "shuffle");
    train.seed = static_cast<std::uint64_t>(convert::integer(config.Get("seed"), "seed", 0, std::int64_t{1} << 53));
    train.diagnostics = convert::boolean(config.Get("diagnostics"), "diagnostics");
    const bool resume = convert::boolean(config.Get("resume"), "resume");
    const std::int64_t epochs = convert::integer(config.Get("epochs"), "epochs", 0, std::int64_t{1} << 40);
    const auto high_water_mark =
        static_cast<std::uint32_t>(convert::integer(config.Get("highWaterMark"), "highWaterMark", 1, 1 << 20));
    if (!config.Get("optimizer").IsObject()) convert::throw_type(env, "optimizer must be an object");
    Napi::Object opt = config.Get("optimizer").As<Napi::Object>();
    OptimizerConfig& o = train.optimizer;
    o.kind = static_cast<OptimizerKind>(convert::integer(opt.Get("kind"), "optimizer kind", 0, 4));
    o.learning_rate = static_cast<float>(convert::number(opt.Get("learningRate"), "learningRate"));
    o.momentum = static_cast<float>(convert::number(opt.Get("momentum"), "momentum"));
    o.nesterov = convert::boolean(opt.Get("nesterov"), "nesterov");
    o.beta1 = static_cast<float>(convert::number(opt.Get("beta1"), "beta1"));
    o.beta2 = static_cast<float>(convert::number(opt.Get("beta2"), "beta2"));
    o.rho = static_cast<float>(convert::number(opt.Get("rho"), "rho"));
    o.epsilon = static_cast<float>(convert::number(opt.Get("epsilon"), "epsilon"));
    o.weight_decay = static_cast<float>(convert::number(opt.Get("weightDecay"), "weightDecay"));
    o.lbfgs_history = static_cast<int>(convert::integer(opt.Get("lbfgsHistory"), "lbfgsHistory", 1, 1000));
    train.clip_norm = static_cast<float>(convert::number(config.Get("clipNorm"), "clipNorm"));
    if (!config.Get("schedule").IsObject()) convert::throw_type(env, "schedule must be an object");
    Napi::Object sc = config.Get("schedule").As<Napi::Object>();
    ScheduleConfig& schedule = train.schedule;
    schedule.kind = static_cast<ScheduleKind>(convert::integer(sc.Get("kind"), "schedule kind", 0, 4));
    schedule.gamma = convert::number(sc.Get("gamma"), "gamma");
    schedule.step_epochs = convert::integer(sc.Get("stepEpochs"), "stepEpochs", 1, std::int64_t{1} << 40);
    schedule.cosine_epochs = convert::integer(sc.Get("cosineEpochs"), "cosineEpochs", 1, std::int64_t{1} << 40);
    schedule.warmup_epochs = convert::integer(sc.Get("warmupEpochs"), "warmupEpochs", 0, std::int64_t{1} << 40);
    schedule.min_learning_rate = convert::number(sc.Get("minLearningRate"), "minLearningRate");
    schedule.plateau_factor = convert::number(sc.Get("factor"), "factor");
    schedule.plateau_patience = convert::integer(sc.Get("patience"), "patience", 0, std::int64_t{1} << 40);
    schedule.plateau_threshold = convert::number(sc.Get("threshold"), "threshold");
    schedule.plateau_cooldown = convert::integer(sc.Get("cooldown"), "cooldown", 0, std::int64_t{1} << 40);
    if (!config.Get("earlyStopping").IsObject()) convert::throw_type(env, "earlyStopping must be an object");
    Napi::Object es = config.Get("earlyStopping").As<Napi::Object>();
    EarlyStoppingConfig& early = train.early_stopping;
    early.enabled = convert::boolean(es.Get("enabled"), "earlyStopping.enabled");
    early.monitor = static_cast<Monitor>(convert::integer(es.Get("monitor"), "monitor", 0, 3));
    early.patience = convert::integer(es.Get("patience"), "patience", 1, std::int64_t{1} << 40);
    early.min_delta = convert::number(es.Get("minDelta"), "minDelta");
    early.restore_best = convert::boolean(es.Get("restoreBest"), "restoreBest");

    // Validation rows (and in-memory training rows) are copied into native memory once: the run
    // must not depend on JS memory once it has started. Big arrays are copied by the training
    // thread (kept referenced until then), so that train() does not stall the event loop.
    auto validation = std::make_shared<PendingDataset>();
    if (config.Get("validation").IsObject()) {
      Napi::Object v = config.Get("validation").As<Napi::Object>();
      *validation = dataset_from(env, *model, v.Get("x"), v.Get("rows"), v.Get("y"), v.Get("labels"), train.loss,
                                 "options.validationData", inputs_);
    }

    // Shared with the stream: JS owns the memory (ArrayBuffers), we keep them referenced
    // until the thread is joined.
    EpochChannel channel;
    // Room for every epoch the stream may allow ahead of its reader, up to a cap: past that
    // the run also waits for the stream to empty the ring (it always does, whatever the
    // stream's own buffer holds), so a huge highWaterMark costs no huge ring.
    channel.capacity = std::min<std::uint32_t>(high_water_mark, kMaxRingRecords) + 2;
    auto control = Napi::ArrayBuffer::New(env, sizeof(std::uint32_t) * EpochChannel::kWords);
    auto ring = Napi::ArrayBuffer::New(env, sizeof(double) * channel.capacity *
                                                static_cast<std::size_t>(TrainingRun::record_size(arch.depth())));
    std::memset(control.Data(), 0, control.ByteLength());
    channel.control = static_cast<std::uint32_t*>(control.Data());
    channel_control_ = channel.control;
    channel.ring = static_cast<double*>(ring.Data());
    control_ref_ = Napi::Persistent(control);
    ring_ref_ = Napi::Persistent(ring);

    // The run's thread calls this (new epochs, a free input buffer while the stream waits); it
    // lives until the thread is joined in shutdown().
    auto notify = [this]() { tsfn_.NonBlockingCall(); };
    std::unique_ptr<Trainer> trainer;  // data that streams in: built here
    TrainingRun::Prepare prepare;      // in-memory data: built on the run's thread
    if (info[1].IsNull()) {
      // Data that streams in: chunks come through feed() and endEpoch().
      // Streamed targets are always dense rows: class labels are expanded to one-hot rows as
      // they are copied in (cross-entropy on one-hot rows equals it on labels, bit for bit),
      // so chunks may come either way and batches can span chunks.
      const std::atomic<bool> never{false};
      complete_dataset(*validation, *model, never);
      try {
        auto source = std::make_unique<ChunkQueue>(notify);
        source_ = source.get();
        trainer = std::make_unique<Trainer>(*model, std::move(source), /*labels=*/false,
                                            std::move(validation->dataset), train, *data.kernels, data.pool.get(),
                                            resume);
      } catch (const std::invalid_argument& e) {
        convert::throw_range(env, e.what());
      } catch (const InvalidData& e) {
        convert::throw_range(env, e.what());
      }
    } else {
      auto training = std::make_shared<PendingDataset>(
          dataset_from(env, *model, info[1], info[2], info[3], info[4], train.loss, "data", inputs_));
      const KernelTable* kernels = data.kernels;
      ThreadPool* pool = data.pool.get();
      prepare = [model, training, validation, train, kernels, pool,
                 resume](const std::atomic<bool>& cancel) -> std::unique_ptr<Trainer> {
        if (!complete_dataset(*training, *model, cancel) || !complete_dataset(*validation, *model, cancel)) {
          return nullptr;
        }
        return std::make_unique<Trainer>(*model, std::move(training->dataset), std::move(validation->dataset), train,
                                         *kernels, pool, resume);
      };
    }
    // Last: nothing may throw after the thread-safe function exists (it would never be released).
    tsfn_ = NotifyFunction::New(env, info[6].As<Napi::Function>(), "mlpstream training", 0, 1);
    tsfn_.Unref(env);
    run_ = trainer ? std::make_unique<TrainingRun>(model, std::move(trainer), epochs, channel, notify)
                   : std::make_unique<TrainingRun>(model, std::move(prepare), epochs, channel, notify);
    model_ref_ = Napi::Persistent(model_object);
    model_wrap_->claim_training(this);
    data_ = &data;
    data.sessions.insert(this);
  }

  ~SessionWrap() override { shutdown(); }

  // Cancels and joins the run; safe to call more than once (close(), finalizer, env cleanup).
  // The references go only after the join: the thread may still read the borrowed arrays.
  void shutdown() {
    if (run_) {
      run_->cancel();
      run_->join();
      run_.reset();
      source_ = nullptr;
    }
    inputs_.clear();
    model_ref_.Reset();
    if (model_wrap_ != nullptr) {
      model_wrap_->release_training(this);
      model_wrap_ = nullptr;
    }
    if (tsfn_) {
      tsfn_.Release();
      tsfn_ = NotifyFunction();
    }
    if (data_ != nullptr) {
      data_->sessions.erase(this);
      data_ = nullptr;
    }
  }

 private:
  void start(const Napi::CallbackInfo& info) {
    if (!run_ || started_) convert::throw_type(info.Env(), "session already started or closed");
    started_ = true;
    run_->start();
  }

  void wake(const Napi::CallbackInfo&) {
    if (run_) run_->wake();
  }

  // Once cancel() returns, the run no longer changes the model: the model is free for another
  // run (or setWeights) while this thread finishes its mini-batch and the stream closes.
  void cancel(const Napi::CallbackInfo&) {
    if (run_) run_->cancel();
    if (model_wrap_ != nullptr) model_wrap_->release_training(this);
  }

  // Keep the process alive only while the stream waits for the run, not while the run waits
  // for a consumer that may never come back.
  void ref(const Napi::CallbackInfo& info) {
    if (tsfn_) tsfn_.Ref(info.Env());
  }
  void unref(const Napi::CallbackInfo& info) {
    if (tsfn_) tsfn_.Unref(info.Env());
  }

  void close(const Napi::CallbackInfo&) { shutdown(); }

  // Drops the references to the training arrays once the thread has copied them (it says so
  // in kInputsCopied), so a big array converted from number[][] does not live as long as the run.
  Napi::Value release_inputs(const Napi::CallbackInfo& info) {
    const bool copied = !run_ || shared_word::load(&channel_control_[EpochChannel::kInputsCopied]) == 1;
    if (copied) inputs_.clear();
    return Napi::Boolean::New(info.Env(), copied);
  }

  // feed(x, rows, y|null, labels|null) -> boolean: hands one chunk of streamed data to the run
  // (copied once, into a free input buffer). False when both buffers are busy: the stream is
  // notified when one frees up and feeds the chunk again.
  Napi::Value feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (source_ == nullptr || !run_) convert::throw_type(env, "this session does not take streamed data");
    const Architecture& arch = model_wrap_->model()->architecture();
    const auto rows = static_cast<std::size_t>(convert::integer(info[1], "rows", 1, (std::int64_t{1} << 31) - 1));
    const std::size_t inputs = static_cast<std::size_t>(arch.inputs());
    const std::size_t outputs = static_cast<std::size_t>(arch.outputs());
    auto x = convert::float32_array(info[0], "x");
    convert::require_length(x, rows * inputs, "x");
    Napi::Float32Array y;
    Napi::Int32Array labels;
    const bool with_labels = info[2].IsNull() || info[2].IsUndefined();
    if (with_labels) {
      labels = convert::int32_array(info[3], "labels");
      convert::require_length(labels, rows, "labels");
      for (std::size_t i = 0; i < rows; ++i) {
        if (labels.Data()[i] < 0 || labels.Data()[i] >= arch.outputs()) convert::throw_range(env, "label out of range");
      }
    } else {
      y = convert::float32_array(info[2], "y");
      convert::require_length(y, rows * outputs, "y");
    }
    Dataset* chunk = source_->acquire();
    if (chunk == nullptr) return Napi::Boolean::New(env, false);
    chunk->rows = static_cast<int>(rows);
    chunk->inputs = arch.inputs();
    chunk->outputs = arch.outputs();
    chunk->x.resize(rows * inputs);
    {
      std::shared_ptr<Model> model = model_wrap_->model();
      std::lock_guard<std::mutex> lock(model->mutex());
      if (model->normalization()) {
        apply_normalization(*model->normalization(), x.Data(), static_cast<int>(rows), arch.inputs(), chunk->x.data());
      } else {
        std::memcpy(chunk->x.data(), x.Data(), rows * inputs * sizeof(float));
      }
    }
    chunk->labels.resize(0);
    if (with_labels) {
      chunk->y.resize(rows * outputs);
      chunk->y.fill(0.0f);
      for (std::size_t i = 0; i < rows; ++i) chunk->y[i * outputs + static_cast<std::size_t>(labels.Data()[i])] = 1.0f;
    } else {
      chunk->y.resize(rows * outputs);
      std::memcpy(chunk->y.data(), y.Data(), rows * outputs * sizeof(float));
    }
    source_->push(chunk);
    return Napi::Boolean::New(env, true);
  }

  void end_epoch(const Napi::CallbackInfo& info) {
    if (source_ == nullptr || !run_) convert::throw_type(info.Env(), "this session does not take streamed data");
    source_->end_epoch();
  }

  Napi::Value control(const Napi::CallbackInfo& info) {
    return control_ref_.IsEmpty() ? info.Env().Null() : control_ref_.Value();
  }
  Napi::Value ring(const Napi::CallbackInfo& info) {
    return ring_ref_.IsEmpty() ? info.Env().Null() : ring_ref_.Value();
  }

  // outcome() -> { error?, divergedEpoch?, divergedBatch?, divergedLoss?, divergedWeights? }
  Napi::Value outcome(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    if (!run_) return out;
    const TrainingRun::Outcome o = run_->outcome();
    if (!o.error.empty()) out.Set("error", Napi::String::New(env, o.error));
    if (o.invalid_data) out.Set("invalidData", Napi::Boolean::New(env, true));
    if (o.diverged_epoch != 0) {
      out.Set("divergedEpoch", Napi::Number::New(env, static_cast<double>(o.diverged_epoch)));
      out.Set("divergedBatch", Napi::Number::New(env, static_cast<double>(o.diverged_batch)));
      out.Set("divergedLoss", Napi::Number::New(env, o.diverged_loss));
      out.Set("divergedWeights", Napi::Boolean::New(env, o.diverged_weights));
    }
    return out;
  }

  std::unique_ptr<TrainingRun> run_;
  // The JS arrays the thread still reads (big training data, copied on the thread).
  std::vector<Napi::Reference<Napi::Value>> inputs_;
  std::uint32_t* channel_control_ = nullptr;
  NotifyFunction tsfn_;
  Napi::ObjectReference model_ref_;
  Napi::Reference<Napi::ArrayBuffer> control_ref_;
  Napi::Reference<Napi::ArrayBuffer> ring_ref_;
  ModelWrap* model_wrap_ = nullptr;
  AddonData* data_ = nullptr;
  bool started_ = false;
  ChunkQueue* source_ = nullptr;  // owned by the run's trainer; null for in-memory data
};

void stop_all_sessions(AddonData& data) {
  while (!data.sessions.empty()) (*data.sessions.begin())->shutdown();
}

void init_session(Napi::Env env, Napi::Object exports, AddonData& data) {
  Napi::Function ctor = SessionWrap::define(env);
  data.session_constructor = Napi::Persistent(ctor);
  exports.Set("NativeSession", ctor);
  Napi::Object channel = Napi::Object::New(env);
  channel.Set("allowed", static_cast<double>(EpochChannel::kAllowed));
  channel.Set("produced", static_cast<double>(EpochChannel::kProduced));
  channel.Set("taken", static_cast<double>(EpochChannel::kTaken));
  channel.Set("consumerWaiting", static_cast<double>(EpochChannel::kConsumerWaiting));
  channel.Set("threadSleeping", static_cast<double>(EpochChannel::kThreadSleeping));
  channel.Set("state", static_cast<double>(EpochChannel::kState));
  channel.Set("batchesDone", static_cast<double>(EpochChannel::kBatchesDone));
  channel.Set("batchesPerEpoch", static_cast<double>(EpochChannel::kBatchesPerEpoch));
  channel.Set("inputsCopied", static_cast<double>(EpochChannel::kInputsCopied));
  exports.Set("channelLayout", channel);
  Napi::Array fields = Napi::Array::New(env);
  for (int i = 0; i < kFixedRecordFields; ++i) fields.Set(static_cast<std::uint32_t>(i), kRecordFields[i]);
  Napi::Array layer_fields = Napi::Array::New(env);
  for (int i = 0; i < kLayerFields; ++i) layer_fields.Set(static_cast<std::uint32_t>(i), kLayerRecordFields[i]);
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("fields", fields);
  layout.Set("layerFields", layer_fields);
  exports.Set("recordLayout", layout);
}

}  // namespace mlpstream
