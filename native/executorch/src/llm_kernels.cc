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

#include "llm_kernels.h"

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

// One work item: one query position of one key/value head, with the `group` query heads that share it.
struct AttentionItem {
  const float* q;  // the first query row; the others follow at q_head_stride
  int64_t q_head_stride;
  const float* k;  // key row 0 of this head; row j at j * k_row_stride
  const float* v;
  int64_t k_row_stride, v_row_stride;
  float* out;  // the first output row; the others follow at out_head_stride
  int64_t out_head_stride;
  const float* mask;  // this position's mask row, or null
  int64_t visible, group, dim;
  float factor;
};

// Attention for one item. D is the head dimension when known at compile time (64, 128), so the
// dot products and the weighted sum unroll and the sum stays in registers; 0 means `it.dim`.
// Scores are computed four keys at a time, each with its own accumulator, so the dot products
// overlap instead of waiting on one another.
template <int D>
void attend(const AttentionItem& it, float* scores, float* heap_sum) {
  const int64_t dim = D > 0 ? D : it.dim;
  const int64_t visible = it.visible;
  for (int64_t g = 0; g < it.group; ++g) {
    const float* qrow = it.q + g * it.q_head_stride;
    int64_t j = 0;
    for (; j + 4 <= visible; j += 4) {
      const float* k0 = it.k + j * it.k_row_stride;
      const float* k1 = k0 + it.k_row_stride;
      const float* k2 = k1 + it.k_row_stride;
      const float* k3 = k2 + it.k_row_stride;
      float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (int64_t d = 0; d < dim; ++d) {
        const float x = qrow[d];
        s0 += x * k0[d];
        s1 += x * k1[d];
        s2 += x * k2[d];
        s3 += x * k3[d];
      }
      scores[j] = s0;
      scores[j + 1] = s1;
      scores[j + 2] = s2;
      scores[j + 3] = s3;
    }
    for (; j < visible; ++j) scores[j] = dot(qrow, it.k + j * it.k_row_stride, dim);

    float best = -std::numeric_limits<float>::infinity();
    for (j = 0; j < visible; ++j) {
      scores[j] = scores[j] * it.factor + (it.mask ? it.mask[j] : 0.f);
      best = std::max(best, scores[j]);
    }
    float* orow = it.out + g * it.out_head_stride;
    if (best == -std::numeric_limits<float>::infinity()) {  // every key masked out: zeros
      std::fill(orow, orow + dim, 0.f);
      continue;
    }
    float total = 0.f;
#pragma omp simd reduction(+ : total)
    for (j = 0; j < visible; ++j) {
      scores[j] = std::exp(scores[j] - best);
      total += scores[j];
    }
    float local[D > 0 ? D : 1];
    float* sum = D > 0 ? local : heap_sum;
    std::fill(sum, sum + dim, 0.f);
    for (j = 0; j < visible; ++j) {
      const float weight = scores[j];
      const float* vrow = it.v + j * it.v_row_stride;
#pragma omp simd
      for (int64_t d = 0; d < dim; ++d) sum[d] += weight * vrow[d];
    }
    const float inverse = 1.f / total;
    for (int64_t d = 0; d < dim; ++d) orow[d] = sum[d] * inverse;
  }
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

  // Work items (see AttentionItem) are split over the pool, even a decode step's few: measured
  // on 2 vCPUs (SmolLM2 8da4w, 8 alternating runs of 100 tokens), decode ran at a median 107
  // tok/s split against 97 on one thread, whose idle partner thread sleeps and is slow to wake
  // for the next delegate call.
  const int64_t items = batch * kv_heads * seq;
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, keys * dim * group));
  executorch::extension::parallel_for(0, items, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(keys);
    std::vector<float> heap_sum(dim);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t s = item % seq, kvh = (item / seq) % kv_heads, b = item / (seq * kv_heads);
      const AttentionItem it{qd + b * qs[0] + s * qs[1] + kvh * group * qs[2], qs[2],
                             kd + b * ks[0] + kvh * ks[2], vd + b * vs[0] + kvh * vs[2], ks[1], vs[1],
                             od + b * os[0] + s * os[1] + kvh * group * os[2], os[2],
                             mask ? mask + s * mask_stride : nullptr,
                             is_causal ? start_pos + s + 1 : keys, group, dim, factor};
      switch (dim) {
        case 64: attend<64>(it, scores.data(), heap_sum.data()); break;
        case 128: attend<128>(it, scores.data(), heap_sum.data()); break;
        default: attend<0>(it, scores.data(), heap_sum.data());
      }
    }
  });
  return out;
}

}  // namespace onboard

EXECUTORCH_LIBRARY(llama, "update_cache.out", onboard::update_cache_out);
EXECUTORCH_LIBRARY(llama, "custom_sdpa.out", onboard::custom_sdpa_out);
