#pragma once
#include <napi.h>

namespace onboard {
Napi::Value UpdateCacheForTest(const Napi::CallbackInfo& info);
Napi::Value CustomSdpaForTest(const Napi::CallbackInfo& info);
}  // namespace onboard
