// onboard's fused LLM kernels (llm_kernels.cc), declared for kernel_check.cc.
#pragma once
#include <executorch/runtime/kernel/kernel_includes.h>

#include <optional>

namespace onboard {

executorch::aten::Tensor& update_cache_out(executorch::runtime::KernelRuntimeContext& ctx, const executorch::aten::Tensor& value,
                                           executorch::aten::Tensor& cache, int64_t start_pos, executorch::aten::Tensor& out);

executorch::aten::Tensor& custom_sdpa_out(executorch::runtime::KernelRuntimeContext& ctx, const executorch::aten::Tensor& q,
                                          const executorch::aten::Tensor& k, const executorch::aten::Tensor& v, int64_t start_pos,
                                          const std::optional<executorch::aten::Tensor>& attn_mask, double dropout_p, bool is_causal,
                                          std::optional<double> scale, executorch::aten::Tensor& out);

}  // namespace onboard
