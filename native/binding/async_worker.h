// An AsyncWorker whose completion survives the end of its environment. When a worker thread
// is terminated while our work runs, the completion callback still runs, but JS can no longer
// run: opening a handle scope or settling a promise fails, node-addon-api throws a C++
// exception, and out of a libuv callback that aborts the whole process. Nobody awaits the
// result anymore, so the right thing is to drop it.
#pragma once

#include <napi.h>

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

}  // namespace mlpstream
