#include "layout.h"

#include <cstddef>

#include "tsprof.h"

#define FIELD(obj, type, field) obj.Set(#field, Napi::Number::New(env, offsetof(type, field)))

Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);

  Napi::Object ev = Napi::Object::New(env);
  ev.Set("size", Napi::Number::New(env, sizeof(tsprof_event)));
  FIELD(ev, tsprof_event, ktime_ns);
  FIELD(ev, tsprof_event, start_ns);
  FIELD(ev, tsprof_event, exec_id);
  FIELD(ev, tsprof_event, type);
  FIELD(ev, tsprof_event, pid);
  FIELD(ev, tsprof_event, tid);
  FIELD(ev, tsprof_event, ppid);
  FIELD(ev, tsprof_event, comm);
  FIELD(ev, tsprof_event, filename);
  out.Set("tsprof_event", ev);

  Napi::Object ks = Napi::Object::New(env);
  ks.Set("size", Napi::Number::New(env, sizeof(tsprof_kstats)));
  FIELD(ks, tsprof_kstats, samples);
  FIELD(ks, tsprof_kstats, lost_kstack);
  FIELD(ks, tsprof_kstats, lost_events);
  FIELD(ks, tsprof_kstats, lost_sample_ring);
  FIELD(ks, tsprof_kstats, stack_bytes);
  FIELD(ks, tsprof_kstats, offcpu_blocks);
  FIELD(ks, tsprof_kstats, lost_offcpu);
  FIELD(ks, tsprof_kstats, offcpu_dropped);
  out.Set("tsprof_kstats", ks);

  Napi::Object h = Napi::Object::New(env);
  h.Set("size", Napi::Number::New(env, sizeof(tsprof_drain_header)));
  FIELD(h, tsprof_drain_header, magic);
  FIELD(h, tsprof_drain_header, version);
  FIELD(h, tsprof_drain_header, drain_ktime_ns);
  FIELD(h, tsprof_drain_header, kstats);
  FIELD(h, tsprof_drain_header, n_events);
  FIELD(h, tsprof_drain_header, n_sideband_chunks);
  FIELD(h, tsprof_drain_header, n_samples);
  FIELD(h, tsprof_drain_header, n_offcpu);
  FIELD(h, tsprof_drain_header, batch_deletes);
  FIELD(h, tsprof_drain_header, fallback_deletes);
  FIELD(h, tsprof_drain_header, delete_failures);
  out.Set("tsprof_drain_header", h);

  Napi::Object sm = Napi::Object::New(env);
  sm.Set("size", Napi::Number::New(env, sizeof(tsprof_sample)));
  FIELD(sm, tsprof_sample, ktime_ns);
  FIELD(sm, tsprof_sample, start_ns);
  FIELD(sm, tsprof_sample, exec_id);
  FIELD(sm, tsprof_sample, pid);
  FIELD(sm, tsprof_sample, tid);
  FIELD(sm, tsprof_sample, ip);
  FIELD(sm, tsprof_sample, sp);
  FIELD(sm, tsprof_sample, bp);
  FIELD(sm, tsprof_sample, flags);
  FIELD(sm, tsprof_sample, stack_bytes);
  FIELD(sm, tsprof_sample, kstack_nr);
  out.Set("tsprof_sample", sm);

  Napi::Object oc = Napi::Object::New(env);
  oc.Set("size", Napi::Number::New(env, sizeof(tsprof_offcpu)));
  FIELD(oc, tsprof_offcpu, ktime_ns);
  FIELD(oc, tsprof_offcpu, blocked_ns);
  FIELD(oc, tsprof_offcpu, start_ns);
  FIELD(oc, tsprof_offcpu, exec_id);
  FIELD(oc, tsprof_offcpu, pid);
  FIELD(oc, tsprof_offcpu, tid);
  FIELD(oc, tsprof_offcpu, state);
  FIELD(oc, tsprof_offcpu, preempted);
  FIELD(oc, tsprof_offcpu, kstack_nr);
  FIELD(oc, tsprof_offcpu, ustack_nr);
  FIELD(oc, tsprof_offcpu, ip);
  FIELD(oc, tsprof_offcpu, sp);
  FIELD(oc, tsprof_offcpu, bp);
  FIELD(oc, tsprof_offcpu, stack_bytes);
  FIELD(oc, tsprof_offcpu, data);
  out.Set("tsprof_offcpu", oc);

  Napi::Object sb = Napi::Object::New(env);
  sb.Set("size", Napi::Number::New(env, sizeof(tsprof_sideband_chunk)));
  FIELD(sb, tsprof_sideband_chunk, cpu);
  FIELD(sb, tsprof_sideband_chunk, bytes);
  out.Set("tsprof_sideband_chunk", sb);

  Napi::Object c = Napi::Object::New(env);
  c.Set("commLen", Napi::Number::New(env, TSPROF_COMM_LEN));
  c.Set("filenameLen", Napi::Number::New(env, TSPROF_FILENAME_LEN));
  c.Set("maxStackDepth", Napi::Number::New(env, TSPROF_MAX_STACK_DEPTH));
  c.Set("offcpuDepth", Napi::Number::New(env, TSPROF_OFFCPU_DEPTH));
  c.Set("magic", Napi::Number::New(env, TSPROF_DRAIN_MAGIC));
  c.Set("version", Napi::Number::New(env, TSPROF_DRAIN_VERSION));
  c.Set("stackCopyMax", Napi::Number::New(env, TSPROF_STACK_COPY_MAX));
  out.Set("constants", c);
  return out;
}
