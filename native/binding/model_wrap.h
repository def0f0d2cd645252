// JS handle of a core Model. The core model is shared (shared_ptr) with any training run,
// so a run keeps working even if the JS object is collected first.
#pragma once

#include <napi.h>

#include <memory>

#include "core/nn/model.h"

namespace mlpstream {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);

  const std::shared_ptr<Model>& model() const { return model_; }
  // A model trains in one run at a time: the session that may still change it owns it. A
  // session lets go when its run ends, or as soon as it is cancelled (a cancelled run commits
  // nothing more, so another run may start while its thread finishes its mini-batch).
  // JS thread only.
  bool training() const { return trainer_ != nullptr; }
  void claim_training(const void* session) { trainer_ = session; }
  void release_training(const void* session) {
    if (trainer_ == session) trainer_ = nullptr;
  }

 private:
  Napi::Value param_count(const Napi::CallbackInfo& info);
  Napi::Value get_params(const Napi::CallbackInfo& info);
  void set_params(const Napi::CallbackInfo& info);
  Napi::Value predict(const Napi::CallbackInfo& info);
  Napi::Value predict_async(const Napi::CallbackInfo& info);
  // x and rows of predict / predictAsync, checked (length, finite values).
  Napi::Float32Array predict_input(const Napi::CallbackInfo& info, int& rows);
  void set_normalization(const Napi::CallbackInfo& info);
  Napi::Value get_normalization(const Napi::CallbackInfo& info);
  Napi::Value get_training_state(const Napi::CallbackInfo& info);
  void set_training_state(const Napi::CallbackInfo& info);
  Napi::Value loss_and_gradients(const Napi::CallbackInfo& info);
  Napi::Value is_training(const Napi::CallbackInfo& info);
  Napi::Value predict_kernel(const Napi::CallbackInfo& info);
  Napi::Value snapshot(const Napi::CallbackInfo& info);

  void require_idle(Napi::Env env, const char* action) const;

  std::shared_ptr<Model> model_;
  const void* trainer_ = nullptr;
};

}  // namespace mlpstream
