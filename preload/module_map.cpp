// Module map scanning with dl_iterate_phdr, build-ids from PT_NOTE (see module_map.h).
#include "module_map.h"

#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "loader_walks.h"

namespace tidemark::preload {

using namespace format;

struct ModuleScan {
  ModuleMap* map;
  ChunkEncoder* encoder;
  uint64_t nowUs;

  static uint64_t hashName(std::string_view name) {
    uint64_t h = 1469598103934665603ull;
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h;
  }

  static std::string_view buildId(const dl_phdr_info* info) {
    for (int i = 0; i < info->dlpi_phnum; ++i) {
      const auto& ph = info->dlpi_phdr[i];
      if (ph.p_type != PT_NOTE) continue;
      auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
      const unsigned char* end = p + ph.p_memsz;
      while (p + sizeof(ElfW(Nhdr)) <= end) {
        auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
        const unsigned char* name = p + sizeof *note;
        const unsigned char* desc = name + ((note->n_namesz + 3) & ~3u);
        if (desc + note->n_descsz > end) break;
        if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
          return {reinterpret_cast<const char*>(desc), note->n_descsz};
        }
        p = desc + ((note->n_descsz + 3) & ~3u);
      }
    }
    return {};
  }

  void visit(const dl_phdr_info* info) {
    static char executable[4096];
    std::string_view path = info->dlpi_name ? info->dlpi_name : "";
    if (path.empty()) {  // the main program
      ssize_t n = readlink("/proc/self/exe", executable, sizeof executable);
      path = std::string_view(executable, n > 0 ? static_cast<size_t>(n) : 0);
    }
    if (path.empty() || path.find('/') == std::string_view::npos) return;  // vdso
    uint64_t nameHash = hashName(path);
    for (uint32_t i = 0; i < map->count_; ++i) {
      auto& known = map->known_[i];
      if (known.loadBias == info->dlpi_addr && known.nameHash == nameHash) {
        known.seen = true;
        return;
      }
    }
    if (map->count_ == ModuleMap::kMaxModules) return;
    map->known_[map->count_++] = {info->dlpi_addr, nameHash, true};

    ModuleSegment segments[64];
    uint32_t segmentCount = 0;
    for (int i = 0; i < info->dlpi_phnum && segmentCount < 64; ++i) {
      const auto& ph = info->dlpi_phdr[i];
      if (ph.p_type != PT_LOAD) continue;
      segments[segmentCount++] = {info->dlpi_addr + ph.p_vaddr, ph.p_memsz, ph.p_flags, 0};
    }
    std::string_view id = buildId(info);
    if (id.size() > 64) id = id.substr(0, 64);
    ModuleLoadRecord r{};
    r.timeUs = nowUs;
    r.loadBias = info->dlpi_addr;
    r.segmentCount = segmentCount;
    r.buildIdBytes = static_cast<uint32_t>(id.size());
    size_t extra = 4 + path.size() + id.size() + segmentCount * sizeof(ModuleSegment);
    if (encoder->beginRecord(RecordKind::ModuleLoad, &r, sizeof r, extra)) {
      encoder->appendString(path);
      encoder->appendBytes(id.data(), id.size());
      encoder->appendBytes(segments, segmentCount * sizeof(ModuleSegment));
      encoder->endRecord();
    }
  }
};

void ModuleMap::rescan(ChunkEncoder& encoder, uint64_t nowUs) {
  for (uint32_t i = 0; i < count_; ++i) known_[i].seen = false;
  ModuleScan scan{this, &encoder, nowUs};
  walkLoadedObjects(
      [](dl_phdr_info* info, size_t, void* data) {
        static_cast<ModuleScan*>(data)->visit(info);
        return 0;
      },
      &scan);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < count_; ++i) {
    if (known_[i].seen) {
      known_[kept++] = known_[i];
      continue;
    }
    ModuleUnloadRecord r{};
    r.timeUs = nowUs;
    r.loadBias = known_[i].loadBias;
    if (encoder.beginRecord(RecordKind::ModuleUnload, &r, sizeof r, 0)) encoder.endRecord();
  }
  count_ = kept;
}

}  // namespace tidemark::preload
