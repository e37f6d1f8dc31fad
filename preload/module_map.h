// The loaded ELF objects, as written to the trace: ModuleLoad for each object the trace
// has not named yet, ModuleUnload for each one that went away. Writer thread only.
#pragma once

#include <cstdint>

#include "../format/chunk_encoder.h"

namespace tidemark::preload {

class ModuleMap {
 public:
  void clear() { count_ = 0; }
  // Walks dl_iterate_phdr and writes the differences to the last walk.
  void rescan(format::ChunkEncoder& encoder, uint64_t nowUs);

 private:
  struct Known {
    uint64_t loadBias;
    uint64_t nameHash;
    bool seen;
  };
  static constexpr uint32_t kMaxModules = 2048;
  Known known_[kMaxModules] = {};
  uint32_t count_ = 0;

  friend struct ModuleScan;
};

}  // namespace tidemark::preload
