// Async workers whose completion survives the end of their environment. When a worker thread
// is terminated while our work runs, the completion callback still runs, but JS can no longer
// run: opening a handle scope or settling a promise fails, node-addon-api throws a C++
// exception, and out of a libuv callback that aborts the whole process. Nobody awaits the
// result anymore, so the right thing is to drop it.
#pragma once

#include <napi.h>

#include <utility>

namespace mlpstream {

class SafeAsyncWorker : public Napi::AsyncWorker {
 public:
  using Napi::AsyncWorker::AsyncWorker;

 protected:
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    try {
      Napi::AsyncWorker::OnWorkComplete(env, status);
    } catch (const Napi::Error&) {
      Destroy();  // the base class did not get to it
    }
  }
};

// A SafeAsyncWorker that settles a promise: subclasses compute in Execute() and build the
// resolved value in Result(); errors (SetError in Execute, or thrown by Result) reject it.
class PromiseWorker : public SafeAsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* resource_name = "mlpstream.async")
      : SafeAsyncWorker(env, resource_name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  void OnOK() override {
    settle([&] { deferred_.Resolve(Result(Env())); });
  }
  void OnError(const Napi::Error& e) override {
    settle([&] { deferred_.Reject(e.Value()); });
  }
  // A JS exception from Result (a detached output array, say) rejects the promise; failing to
  // settle at all (the environment is gone) is dropped, as above.
  template <typename Settle>
  void settle(Settle&& how) {
    try {
      try {
        std::forward<Settle>(how)();
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
    } catch (const Napi::Error&) {
    }
  }

  Napi::Promise::Deferred deferred_;
};

}  // namespace mlpstream
