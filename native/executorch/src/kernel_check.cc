// Direct calls into the fused LLM kernels (llm_kernels.cc) on caller-given
// tensors, so tests can compare them with ExecuTorch's own kernels on random
// inputs without exporting a program.
#include <napi.h>

#include <executorch/extension/tensor/tensor.h>
#include <executorch/runtime/kernel/kernel_runtime_context.h>

#include <vector>

#include "kernel_check.h"
#include "llm_kernels.h"

namespace onboard {

using executorch::aten::ScalarType;
using executorch::aten::Tensor;
using executorch::runtime::KernelRuntimeContext;

namespace {

std::vector<executorch::aten::SizesType> Shape(const Napi::Value& value) {
  std::vector<executorch::aten::SizesType> sizes;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) sizes.push_back(array.Get(i).As<Napi::Number>().Int32Value());
  return sizes;
}

executorch::extension::TensorPtr Wrap(const Napi::Value& data, const Napi::Value& shape) {
  Napi::Float32Array array = data.As<Napi::Float32Array>();
  return executorch::extension::from_blob(array.Data(), Shape(shape), ScalarType::Float);
}

Napi::Value Check(Napi::Env env, KernelRuntimeContext& context) {
  if (context.failure_state() != executorch::runtime::Error::Ok) {
    Napi::Error::New(env, "the kernel refused its inputs").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

}  // namespace

// updateCache(value, valueShape, cache, cacheShape, startPos): writes into cache in place.
Napi::Value UpdateCacheForTest(const Napi::CallbackInfo& info) {
  auto value = Wrap(info[0], info[1]);
  auto cache = Wrap(info[2], info[3]);
  std::vector<float> dummy(1);
  auto out = executorch::extension::from_blob(dummy.data(), {1}, ScalarType::Float);
  KernelRuntimeContext context;
  update_cache_out(context, *value, *cache, info[4].As<Napi::Number>().Int64Value(), *out);
  return Check(info.Env(), context);
}

// customSdpa(q, qShape, k, kShape, v, vShape, startPos, isCausal, out): writes the attention into out (q's shape).
Napi::Value CustomSdpaForTest(const Napi::CallbackInfo& info) {
  auto q = Wrap(info[0], info[1]);
  auto k = Wrap(info[2], info[3]);
  auto v = Wrap(info[4], info[5]);
  auto out = Wrap(info[8], info[1]);
  KernelRuntimeContext context;
  custom_sdpa_out(context, *q, *k, *v, info[6].As<Napi::Number>().Int64Value(), std::nullopt, 0.0, info[7].As<Napi::Boolean>().Value(),
                  std::nullopt, *out);
  return Check(info.Env(), context);
}

}  // namespace onboard
