// Registers the addon's exports; the work lives in the files it includes.
#include <napi.h>

#include "layout.h"
#include "sampler.h"

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("Sampler", Sampler::Init(env));
  exports.Set("layout", Napi::Function::New(env, Layout, "layout"));
  return exports;
}

NODE_API_MODULE(tsprof, InitAddon)
