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
  // A model trains in one run at a time; the session sets and clears this on the JS thread.
  bool training() const { return training_; }
  void set_training(bool value) { training_ = value; }

 private:
  Napi::Value param_count(const Napi::CallbackInfo& info);
  Napi::Value get_params(const Napi::CallbackInfo& info);
  void set_params(const Napi::CallbackInfo& info);
  Napi::Value predict(const Napi::CallbackInfo& info);
  Napi::Value predict_async(const Napi::CallbackInfo& info);
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
  bool training_ = false;
};

}  // namespace mlpstream
