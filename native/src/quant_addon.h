// Registers the stored-weight kernels (quant_addon.cc) on the addon's exports.
#pragma once

#include <napi.h>

namespace muse {

/** Adds quantLinear, quantDequantize, quantActRoundtrip, quantInfo and quantSetPath to `exports`. */
void register_quant(Napi::Env env, Napi::Object exports);

}  // namespace muse
