// Registers the addon's exports; the work lives in the files it includes.
#include <napi.h>

#include <malloc.h>

#include <cstdlib>

#include "demangle.h"
#include "layout.h"
#include "sampler.h"

// demangle(names: string[]): (string | null)[]  (see demangle.h)
static Napi::Value Demangle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    Napi::TypeError::New(env, "demangle(names: string[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array in = info[0].As<Napi::Array>();
  Napi::Array out = Napi::Array::New(env, in.Length());
  for (uint32_t i = 0; i < in.Length(); i++) {
    Napi::Value v = in.Get(i);
    char* d = v.IsString() ? tsprof_demangle(v.As<Napi::String>().Utf8Value().c_str()) : nullptr;
    out.Set(i, d ? Napi::Value(Napi::String::New(env, d)) : env.Null());
    free(d);
  }
  return out;
}

// releaseFreeMemory(): gives the C heap's free pages back to the system.
// Loading the BPF object (kernel BTF) and reading symbol files leave tens of
// megabytes free but resident in glibc's heaps; only a trim returns them.
static Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo& info) {
  malloc_trim(0);
  return info.Env().Undefined();
}

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  // A fixed threshold: glibc otherwise raises it after the first large free,
  // and later large buffers (whole symbol sections) stay in the heap for good.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  exports.Set("releaseFreeMemory", Napi::Function::New(env, ReleaseFreeMemory, "releaseFreeMemory"));
  exports.Set("Sampler", Sampler::Init(env));
  exports.Set("layout", Napi::Function::New(env, Layout, "layout"));
  exports.Set("demangle", Napi::Function::New(env, Demangle, "demangle"));
  return exports;
}

NODE_API_MODULE(tsprof, InitAddon)
