// The addon's own view of the ABI structs, for the test that holds the
// TypeScript decoder to it.
//
// JavaScript signature:
//   layout(): { [struct: string]: { size: number, [field: string]: number } }
//       sizeof and offsetof, as this compiler lays out bpf/tsprof.h.
#pragma once
#include <napi.h>

Napi::Value Layout(const Napi::CallbackInfo& info);
