// ExecuTorch's fused LLM operators, written for onboard: llama::update_cache.out
// and llama::custom_sdpa.out. The exporter emits them for a KV-cached model,
// and their own kernels ship only in a libtorch-linked library, so a runtime
// without torch needs these. Registered with the runtime's kernel registry
// when the addon is loaded. Layout of every tensor: [batch, seq, heads, dim].
#include <executorch/extension/kernel_util/make_boxed_from_unboxed_functor.h>
#include <executorch/runtime/kernel/kernel_includes.h>
#include <executorch/runtime/kernel/thread_parallel_interface.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace onboard {

using executorch::aten::ScalarType;
using executorch::aten::Tensor;
using executorch::runtime::Error;
using executorch::runtime::KernelRuntimeContext;

// update_cache(value, cache, start_pos): cache[:, start_pos:start_pos+S] = value.
Tensor& update_cache_out(KernelRuntimeContext& ctx, const Tensor& value, Tensor& cache, const int64_t start_pos, Tensor& out) {
  ET_KERNEL_CHECK_MSG(ctx, value.dim() == 4 && cache.dim() == 4, InvalidArgument, out, "update_cache: value and cache must be 4-D");
  ET_KERNEL_CHECK_MSG(ctx, value.scalar_type() == cache.scalar_type(), InvalidArgument, out, "update_cache: value and cache differ in dtype");
  for (int d : {0, 2, 3}) {
    ET_KERNEL_CHECK_MSG(ctx, value.size(d) == cache.size(d), InvalidArgument, out, "update_cache: value and cache differ in dimension %d", d);
  }
  const int64_t seq = value.size(1);
  ET_KERNEL_CHECK_MSG(ctx, start_pos >= 0 && start_pos + seq <= cache.size(1), InvalidArgument, out,
                      "update_cache: positions %lld..%lld outside a cache of %lld", (long long)start_pos, (long long)(start_pos + seq), (long long)cache.size(1));
  ET_KERNEL_CHECK_MSG(ctx, value.strides()[3] == 1 && cache.strides()[3] == 1, InvalidArgument, out, "update_cache: the last dimension must be contiguous");
  const size_t element = value.element_size();
  const size_t row_bytes = value.size(3) * element;
  const char* src = value.const_data_ptr<char>();
  char* dst = cache.mutable_data_ptr<char>();
  const auto vs = value.strides();
  const auto cs = cache.strides();
  for (int64_t b = 0; b < value.size(0); ++b) {
    for (int64_t s = 0; s < seq; ++s) {
      for (int64_t h = 0; h < value.size(2); ++h) {
        std::memcpy(dst + (b * cs[0] + (start_pos + s) * cs[1] + h * cs[2]) * element,
                    src + (b * vs[0] + s * vs[1] + h * vs[2]) * element, row_bytes);
      }
    }
  }
  return out;
}

namespace {

// The reduction is declared reorderable (-fopenmp-simd), so it vectorizes instead of
// waiting on one add per element.
float dot(const float* a, const float* b, int64_t n) {
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace

// custom_sdpa(q, k_cache, v_cache, start_pos, attn_mask, dropout_p, is_causal, scale):
// softmax(q k^T * scale + mask) v for the S queries at positions start_pos..start_pos+S-1,
// over the cache's first start_pos+S keys. Causal: query i sees keys 0..start_pos+i.
// Grouped-query attention: query head h reads key/value head h / (Hq / Hkv).
Tensor& custom_sdpa_out(KernelRuntimeContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const int64_t start_pos,
                        const std::optional<Tensor>& attn_mask, const double dropout_p, const bool is_causal,
                        const std::optional<double> scale, Tensor& out) {
  ET_KERNEL_CHECK_MSG(ctx, q.dim() == 4 && k.dim() == 4 && v.dim() == 4, InvalidArgument, out, "custom_sdpa: q, k and v must be 4-D");
  ET_KERNEL_CHECK_MSG(ctx, q.scalar_type() == ScalarType::Float && k.scalar_type() == ScalarType::Float && v.scalar_type() == ScalarType::Float,
                      InvalidArgument, out, "custom_sdpa: only float32 is supported");
  ET_KERNEL_CHECK_MSG(ctx, dropout_p == 0.0, InvalidArgument, out, "custom_sdpa: dropout is not supported");
  ET_KERNEL_CHECK_MSG(ctx, !(is_causal && attn_mask.has_value()), InvalidArgument, out, "custom_sdpa: is_causal and attn_mask are exclusive");
  const int64_t batch = q.size(0), seq = q.size(1), q_heads = q.size(2), dim = q.size(3);
  const int64_t kv_heads = k.size(2);
  const int64_t keys = start_pos + seq;
  ET_KERNEL_CHECK_MSG(ctx, k.size(0) == batch && v.size(0) == batch && k.size(3) == dim && v.size(3) == dim && v.size(2) == kv_heads,
                      InvalidArgument, out, "custom_sdpa: q, k and v shapes disagree");
  ET_KERNEL_CHECK_MSG(ctx, kv_heads > 0 && q_heads % kv_heads == 0, InvalidArgument, out, "custom_sdpa: query heads are not a multiple of key heads");
  ET_KERNEL_CHECK_MSG(ctx, start_pos >= 0 && keys <= k.size(1) && keys <= v.size(1), InvalidArgument, out,
                      "custom_sdpa: positions up to %lld exceed a cache of %lld", (long long)keys, (long long)k.size(1));
  ET_KERNEL_CHECK_MSG(ctx, q.strides()[3] == 1 && k.strides()[3] == 1 && v.strides()[3] == 1, InvalidArgument, out,
                      "custom_sdpa: the last dimension must be contiguous");
  const float* mask = nullptr;
  int64_t mask_stride = 0;
  if (attn_mask.has_value()) {
    const Tensor& m = attn_mask.value();
    ET_KERNEL_CHECK_MSG(ctx, m.dim() == 2 && m.scalar_type() == ScalarType::Float && m.size(0) == seq && m.size(1) >= keys && m.strides()[1] == 1,
                        InvalidArgument, out, "custom_sdpa: attn_mask must be float32 [seq, keys]");
    mask = m.const_data_ptr<float>();
    mask_stride = m.strides()[0];
  }
  ET_KERNEL_CHECK(ctx, executorch::runtime::resize_tensor(out, q.sizes()) == Error::Ok, InvalidArgument, out);
  const float factor = scale.has_value() ? static_cast<float>(scale.value()) : 1.0f / std::sqrt(static_cast<float>(dim));
  const int64_t group = q_heads / kv_heads;
  const float* qd = q.const_data_ptr<float>();
  const float* kd = k.const_data_ptr<float>();
  const float* vd = v.const_data_ptr<float>();
  float* od = out.mutable_data_ptr<float>();
  const auto qs = q.strides(), ks = k.strides(), vs = v.strides(), os = out.strides();

  // One work item is one query position of one key/value head, with the `group` query heads that
  // share it: each key and value row is read once for all of them. Even a decode step's few items
  // are split over the pool: measured on 2 vCPUs (SmolLM2 8da4w, 8 alternating runs of 100
  // tokens), decode ran at a median 107 tok/s split against 97 on one thread, whose idle
  // partner thread sleeps and is slow to wake for the next delegate call.
  const int64_t items = batch * kv_heads * seq;
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, keys * dim * group));
  executorch::extension::parallel_for(0, items, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(group * keys);
    std::vector<float> acc(group * dim);
    std::vector<float> best(group), total(group);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t s = item % seq, kvh = (item / seq) % kv_heads, b = item / (seq * kv_heads);
      const int64_t visible = is_causal ? start_pos + s + 1 : keys;
      const float* qrows = qd + b * qs[0] + s * qs[1] + kvh * group * qs[2];
      std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
      for (int64_t j = 0; j < visible; ++j) {
        const float* krow = kd + b * ks[0] + j * ks[1] + kvh * ks[2];
        const float bias = mask ? mask[s * mask_stride + j] : 0.f;
        for (int64_t g = 0; g < group; ++g) {
          const float score = dot(qrows + g * qs[2], krow, dim) * factor + bias;
          scores[g * keys + j] = score;
          best[g] = std::max(best[g], score);
        }
      }
      std::fill(acc.begin(), acc.end(), 0.f);
      std::fill(total.begin(), total.end(), 0.f);
      for (int64_t g = 0; g < group; ++g) {
        if (best[g] == -std::numeric_limits<float>::infinity()) continue;  // every key masked out: zeros
        float* row = scores.data() + g * keys;
        const float top = best[g];
        float sum = 0.f;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < visible; ++j) {
          row[j] = std::exp(row[j] - top);
          sum += row[j];
        }
        total[g] = sum;
      }
      for (int64_t j = 0; j < visible; ++j) {
        const float* vrow = vd + b * vs[0] + j * vs[1] + kvh * vs[2];
        for (int64_t g = 0; g < group; ++g) {
          if (total[g] == 0.f) continue;
          const float weight = scores[g * keys + j];
          float* a = acc.data() + g * dim;
#pragma omp simd
          for (int64_t d = 0; d < dim; ++d) a[d] += weight * vrow[d];
        }
      }
      for (int64_t g = 0; g < group; ++g) {
        float* orow = od + b * os[0] + s * os[1] + (kvh * group + g) * os[2];
        const float inverse = total[g] > 0.f ? 1.f / total[g] : 0.f;
        for (int64_t d = 0; d < dim; ++d) orow[d] = acc[g * dim + d] * inverse;
      }
    }
  });
  return out;
}

}  // namespace onboard

EXECUTORCH_LIBRARY(llama, "update_cache.out", onboard::update_cache_out);
EXECUTORCH_LIBRARY(llama, "custom_sdpa.out", onboard::custom_sdpa_out);
