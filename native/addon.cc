// The rawbright addon: one module, one Init, a part per file. Private to src/native.ts.
#include "common.h"

namespace rawbright {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Per environment (main thread and each worker thread) so workers never share mutable state.
  env.SetInstanceData<AddonData>(new AddonData());
  InitFile(env, exports);
  InitMapping(env, exports);
  InitOverlay(env, exports);
  InitBrighten(env, exports);
  InitSharedMemory(env, exports);
  InitSigbus(env, exports);
  InitIpc(env, exports);
  InitChecksum(env, exports);
  InitDetach(env, exports);
  return exports;
}

}  // namespace rawbright

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return rawbright::Init(env, exports); }

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitAddon)
