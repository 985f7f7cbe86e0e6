# Built by `onboard setup runtime` (src/adapters/executorch/native-runtime.ts) with node-gyp,
# against the libraries and headers taken from the executorch wheel: executorch_dir points
# at that extracted runtime. Node's own headers come with Node (--nodedir), nothing is downloaded.
# march is the CPU it is compiled for: native by default, $ONBOARD_ADDON_MARCH when set.
{
  "variables": { "executorch_dir%": "", "node_addon_api_targets%": "", "march%": "native" },
  "targets": [
    {
      "target_name": "onboard_executorch",
      "sources": ["src/addon.cc", "src/llm_kernels.cc", "src/kernel_check.cc"],
      "dependencies": ["<(node_addon_api_targets):node_addon_api_except"],
      "include_dirs": [
        "<(executorch_dir)/include",
        "<(executorch_dir)/include/executorch/runtime/core/portable_type/c10"
      ],
      "defines": ["C10_USING_CUSTOM_GENERATED_MACROS", "ET_EVENT_TRACER_ENABLED", "ET_USE_THREADPOOL"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=<(march)", "-fopenmp-simd", "-fexceptions"],
      "libraries": [
        "-L<(executorch_dir)/lib",
        "-Wl,-rpath,<(executorch_dir)/lib",
        "-Wl,--no-as-needed",
        "-lexecutorch",
        "-lexecutorch_threadpool",
        "-lexecutorch_kernels_optimized",
        "-lexecutorch_kernels_quantized",
        "-lexecutorch_backend_xnnpack",
        "-Wl,--as-needed"
      ]
    }
  ]
}
