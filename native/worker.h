// Runs native work off the JavaScript thread and settles a Promise with it.
#pragma once
#include <napi.h>

#include <functional>
#include <string>

class PromiseWorker : public Napi::AsyncWorker {
 public:
  /** Runs on a libuv worker thread; returns "" on success, else a message. */
  using Work = std::function<std::string()>;
  /** Runs back on the JavaScript thread to make the resolved value. */
  using Done = std::function<Napi::Value(Napi::Env)>;

  /** Queues `work` and returns the Promise that `done`'s value resolves. */
  static Napi::Promise Run(Napi::Env env, Work work, Done done);

 private:
  PromiseWorker(Napi::Env env, Work work, Done done);
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
};
