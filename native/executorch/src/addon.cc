// onboard's Node-API binding over ExecuTorch's C++ runtime: load a .pte, run
// `forward` on token ids per KV-cache sequence, hand the last row of logits
// to JavaScript (the sampler runs there), read the program's metadata methods.
// No torch and no Python: only the runtime, kernel and delegate libraries of
// the executorch wheel are linked (see binding.gyp).
#include <napi.h>

#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>
#include <executorch/runtime/backend/interface.h>
#include <executorch/runtime/platform/runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernel_check.h"

// pthreadpool as ExecuTorch's threadpool library exports it (the wheel ships no header for it).
// Its set_threads_count's return type differs between versions, so the count is read back.
extern "C" {
struct pthreadpool;
void pthreadpool_set_threads_count(pthreadpool* threadpool, size_t threads);
size_t pthreadpool_get_threads_count(pthreadpool* threadpool);
}
namespace executorch::extension::threadpool {
pthreadpool* get_pthreadpool();
}

namespace {

using executorch::aten::ScalarType;
using executorch::extension::Module;
using executorch::runtime::Error;
using executorch::runtime::EValue;

// The runtime's own name for an error, with what it means for the two a user meets.
std::string describe(Error error) {
  std::string name = executorch::runtime::to_string(error);
  if (error == Error::OperatorMissing) name += " (the program calls a kernel this runtime does not have)";
  if (error == Error::DelegateInvalidCompatibility) name += " (the program needs a delegate this runtime lacks, or a version it cannot run)";
  return name;
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t count = executorch::runtime::get_num_registered_backends();
  Napi::Array names = Napi::Array::New(env);
  for (size_t i = 0; i < count; ++i) {
    auto name = executorch::runtime::get_backend_name(i);
    if (name.ok()) names.Set(names.Length(), Napi::String::New(env, name.get()));
  }
  return names;
}

// The pool's size when first asked, before anything changed how many of its threads work.
size_t PoolThreads() {
  static const size_t threads = [] {
    pthreadpool* pool = executorch::extension::threadpool::get_pthreadpool();
    return pool ? pthreadpool_get_threads_count(pool) : size_t{1};
  }();
  return threads;
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(PoolThreads()));
}

// How many of the pool's threads the next forwards use (XNNPACK's and onboard's kernels
// share the pool), 1 to the pool's size; returns the count in effect, read back from the pool.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t most = PoolThreads();
  pthreadpool* pool = executorch::extension::threadpool::get_pthreadpool();
  if (!pool || info.Length() < 1 || !info[0].IsNumber()) return Napi::Number::New(env, static_cast<double>(most));
  const double wanted = info[0].As<Napi::Number>().DoubleValue();
  const size_t threads = wanted < 1 ? 1 : wanted > static_cast<double>(most) ? most : static_cast<size_t>(wanted);
  pthreadpool_set_threads_count(pool, threads);
  return Napi::Number::New(env, static_cast<double>(pthreadpool_get_threads_count(pool)));
}

// A scalar or a list from a metadata method, as a JavaScript value.
Napi::Value ToJs(Napi::Env env, const EValue& value) {
  if (value.isInt()) return Napi::Number::New(env, static_cast<double>(value.toInt()));
  if (value.isBool()) return Napi::Boolean::New(env, value.toBool());
  if (value.isDouble()) return Napi::Number::New(env, value.toDouble());
  if (value.isString()) {
    auto text = value.toString();
    return Napi::String::New(env, std::string(text.data(), text.size()));
  }
  if (value.isIntList()) {
    auto list = value.toIntList();
    Napi::Array array = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) array.Set(i, Napi::Number::New(env, static_cast<double>(list[i])));
    return array;
  }
  if (value.isTensor()) {
    const auto& tensor = value.toTensor();
    Napi::Array array = Napi::Array::New(env);
    for (ssize_t i = 0; i < tensor.numel(); ++i) {
      switch (tensor.scalar_type()) {
        case ScalarType::Long: array.Set(i, Napi::Number::New(env, static_cast<double>(tensor.const_data_ptr<int64_t>()[i]))); break;
        case ScalarType::Int: array.Set(i, Napi::Number::New(env, tensor.const_data_ptr<int32_t>()[i])); break;
        case ScalarType::Float: array.Set(i, Napi::Number::New(env, tensor.const_data_ptr<float>()[i])); break;
        case ScalarType::Double: array.Set(i, Napi::Number::New(env, tensor.const_data_ptr<double>()[i])); break;
        case ScalarType::Bool: array.Set(i, Napi::Boolean::New(env, tensor.const_data_ptr<bool>()[i])); break;
        default: return Napi::String::New(env, "<tensor of an unsupported dtype>");
      }
    }
    return array;
  }
  if (value.isNone()) return env.Null();
  return Napi::String::New(env, "<unsupported value>");
}

// Copies a row of logits into `out` as float; false when one is NaN or infinite. One typed
// pass the compiler vectorizes: it runs on every token. (x - x is 0, or NaN for NaN and Inf.)
template <typename T>
bool CopyFinite(const T* src, float* out, ssize_t n) {
  float check = 0.f;
#pragma omp simd reduction(+ : check)
  for (ssize_t i = 0; i < n; ++i) {
    out[i] = static_cast<float>(src[i]);
    check += out[i] - out[i];
  }
  return check == 0.f;
}

bool CopyLogits(const executorch::aten::Tensor& tensor, ssize_t offset, float* out, ssize_t n) {
  switch (tensor.scalar_type()) {
    case ScalarType::Float: return CopyFinite(tensor.const_data_ptr<float>() + offset, out, n);
    case ScalarType::Half: return CopyFinite(tensor.const_data_ptr<executorch::aten::Half>() + offset, out, n);
    case ScalarType::BFloat16: return CopyFinite(tensor.const_data_ptr<executorch::aten::BFloat16>() + offset, out, n);
    default: std::fill(out, out + n, 0.f); return true;
  }
}

// argmax(row): the index of the largest value, the first of equals (as the core's argmax).
// The maximum in one vectorized pass, then its first place: greedy decoding runs this on
// every token, where the core's loop over 49,152 logits took about 80 us.
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  const Napi::Float32Array row = info[0].As<Napi::Float32Array>();
  const float* data = row.Data();
  const size_t n = row.ElementLength();
  if (n == 0) return Napi::Number::New(info.Env(), -1);
  float top = data[0];
#pragma omp simd reduction(max : top)
  for (size_t i = 0; i < n; ++i) top = std::max(top, data[i]);
  size_t best = 0;
  while (best < n && !(data[best] == top)) ++best;
  return Napi::Number::New(info.Env(), static_cast<double>(best < n ? best : 0));
}

class Program : public Napi::ObjectWrap<Program> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Program",
                       {InstanceMethod("methodNames", &Program::MethodNames), InstanceMethod("constant", &Program::Constant),
                        InstanceMethod("forward", &Program::Forward), InstanceMethod("forwardInputs", &Program::ForwardInputs)});
  }

  // new Program(path, sequences): one Module (one planned memory, so one KV cache) per sequence.
  explicit Program(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Program>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "Program(path: string, sequences: number)").ThrowAsJavaScriptException();
      return;
    }
    const std::string path = info[0].As<Napi::String>();
    const int sequences = info[1].As<Napi::Number>().Int32Value();
    if (sequences < 1 || sequences > 64) {
      Napi::RangeError::New(env, "sequences must be 1..64").ThrowAsJavaScriptException();
      return;
    }
    for (int i = 0; i < sequences; ++i) {
      auto module = std::make_unique<Module>(path, Module::LoadMode::Mmap);
      const Error loaded = module->load();
      if (loaded != Error::Ok) {
        Fail(env, "PROGRAM_INVALID", "the program does not load: " + describe(loaded));
        return;
      }
      const Error method = module->load_method("forward");
      if (method != Error::Ok) {
        Fail(env, method == Error::NotFound ? "NO_FORWARD" : "METHOD_LOAD_FAILED", "forward does not load: " + describe(method));
        return;
      }
      modules_.push_back(std::move(module));
    }
  }

 private:
  void Fail(Napi::Env env, const char* code, const std::string& message) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    error.ThrowAsJavaScriptException();
  }

  Napi::Value MethodNames(const Napi::CallbackInfo& info) {
    Napi::Array names = Napi::Array::New(info.Env());
    auto found = modules_.at(0)->method_names();
    if (found.ok()) {
      for (const auto& name : found.get()) names.Set(names.Length(), Napi::String::New(info.Env(), name));
    }
    return names;
  }

  // constant(name): runs a method that takes no inputs (get_max_seq_len, get_eos_ids, ...) and returns its first output.
  Napi::Value Constant(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::string name = info[0].As<Napi::String>();
    auto meta = modules_.at(0)->method_meta(name);
    if (!meta.ok() || meta->num_inputs() != 0) return env.Undefined();
    auto result = modules_.at(0)->execute(name);
    if (!result.ok() || result->empty()) return env.Undefined();
    return ToJs(env, result.get()[0]);
  }

  // forwardInputs(): the dtype and rank of each forward input, to check the program is a token LLM.
  Napi::Value ForwardInputs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array inputs = Napi::Array::New(env);
    auto meta = modules_.at(0)->method_meta("forward");
    if (!meta.ok()) return inputs;
    for (size_t i = 0; i < meta->num_inputs(); ++i) {
      Napi::Object input = Napi::Object::New(env);
      auto tensor = meta->input_tensor_meta(i);
      if (tensor.ok()) {
        input.Set("dtype", Napi::Number::New(env, static_cast<int>(tensor->scalar_type())));
        Napi::Array sizes = Napi::Array::New(env);
        for (auto size : tensor->sizes()) sizes.Set(sizes.Length(), Napi::Number::New(env, size));
        input.Set("sizes", sizes);
      }
      inputs.Set(i, input);
    }
    return inputs;
  }

  // forward(sequence, tokens: Int32Array, startPos, out?: Float32Array) -> Float32Array: the logits after
  // the last token, written into `out` when it has the vocabulary's length (no allocation per token).
  // Non-finite logits (damaged weights, overflow) are an error with code BAD_LOGITS, not a row to sample.
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int sequence = info[0].As<Napi::Number>().Int32Value();
    if (sequence < 0 || sequence >= static_cast<int>(modules_.size())) {
      Fail(env, "BAD_REQUEST", "no sequence " + std::to_string(sequence));
      return env.Undefined();
    }
    Napi::Int32Array ids = info[1].As<Napi::Int32Array>();
    const int64_t start = info[2].As<Napi::Number>().Int64Value();
    std::vector<int64_t> tokens(ids.Data(), ids.Data() + ids.ElementLength());
    std::vector<int64_t> position{start};
    auto token_tensor = executorch::extension::from_blob(tokens.data(), {1, static_cast<int>(tokens.size())}, ScalarType::Long);
    auto position_tensor = executorch::extension::from_blob(position.data(), {1}, ScalarType::Long);
    auto result = modules_[sequence]->forward({EValue(token_tensor), EValue(position_tensor)});
    if (!result.ok()) {
      Fail(env, "FORWARD_FAILED", "forward failed: " + describe(result.error()));
      return env.Undefined();
    }
    if (result->empty() || !result.get()[0].isTensor()) {
      Fail(env, "FORWARD_FAILED", "forward returned no logits tensor");
      return env.Undefined();
    }
    const auto& logits = result.get()[0].toTensor();
    const ssize_t vocab = logits.size(logits.dim() - 1);
    const ssize_t offset = logits.numel() - vocab;  // a program that returns every position's logits: take the last
    Napi::Float32Array row;
    if (info.Length() > 3 && info[3].IsTypedArray() && info[3].As<Napi::Float32Array>().ElementLength() == static_cast<size_t>(vocab)) {
      row = info[3].As<Napi::Float32Array>();
    } else {
      row = Napi::Float32Array::New(env, vocab);
    }
    if (!CopyLogits(logits, offset, row.Data(), vocab)) {
      Fail(env, "BAD_LOGITS", "the forward gave non-finite logits (NaN or Inf): the program's weights are damaged, or its numerics overflow");
      return env.Undefined();
    }
    return row;
  }

  std::vector<std::unique_ptr<Module>> modules_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  executorch::runtime::runtime_init();
  exports.Set("backends", Napi::Function::New(env, Backends));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("argmax", Napi::Function::New(env, Argmax));
  exports.Set("Program", Program::Define(env));
  Napi::Object kernels = Napi::Object::New(env);
  kernels.Set("updateCache", Napi::Function::New(env, onboard::UpdateCacheForTest));
  kernels.Set("customSdpa", Napi::Function::New(env, onboard::CustomSdpaForTest));
  exports.Set("kernelsForTest", kernels);
  return exports;
}

}  // namespace

NODE_API_MODULE(onboard_executorch, Init)
