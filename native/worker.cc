#include "worker.h"

PromiseWorker::PromiseWorker(Napi::Env env, Work work, Done done)
    : Napi::AsyncWorker(env, "tsprof"), deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)), done_(std::move(done)) {}

Napi::Promise PromiseWorker::Run(Napi::Env env, Work work, Done done) {
  auto* w = new PromiseWorker(env, std::move(work), std::move(done));
  Napi::Promise p = w->deferred_.Promise();
  w->Queue();  // the worker deletes itself after OnOK/OnError
  return p;
}

void PromiseWorker::Execute() {
  std::string err = work_();
  if (!err.empty()) SetError(err);
}

void PromiseWorker::OnOK() { deferred_.Resolve(done_(Env())); }

void PromiseWorker::OnError(const Napi::Error& error) { deferred_.Reject(error.Value()); }
