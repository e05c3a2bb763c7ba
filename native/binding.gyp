{
  "targets": [
    {
      "target_name": "tsprof",
      "sources": [
        "addon.cc",
        "sampler.cc",
        "sideband.cc",
        "map_cleanup.cc",
        "layout.cc",
        "worker.cc",
        "demangle.c"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../bpf",
        "../bpf/.output"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wno-missing-field-initializers"],
      "ldflags": ["-Wl,--as-needed"],
      "libraries": ["-lbpf", "-l:libiberty.a"]
    }
  ]
}
