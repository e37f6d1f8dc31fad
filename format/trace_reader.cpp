// Trace decoding: chunks → records → packed events, with bounds checks on every field.
#include "trace_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "varint.h"

namespace tidemark::format {
namespace {

// Bounds-checked reading of a record's variable part.
class Cursor {
 public:
  Cursor(const uint8_t* begin, const uint8_t* end) : pos_(begin), end_(end) {}
  bool bytes(void* out, size_t n) {
    if (static_cast<size_t>(end_ - pos_) < n) return false;
    if (n) memcpy(out, pos_, n);  // an empty vector's data() may be null
    pos_ += n;
    return true;
  }
  bool string(std::string* out) {
    uint32_t length;
    if (!bytes(&length, sizeof length) || static_cast<size_t>(end_ - pos_) < length) return false;
    out->assign(reinterpret_cast<const char*>(pos_), length);
    pos_ += length;
    return true;
  }

 private:
  const uint8_t* pos_;
  const uint8_t* end_;
};

bool preadAll(int fd, void* out, size_t bytes, uint64_t offset) {
  auto* p = static_cast<uint8_t*>(out);
  while (bytes > 0) {
    ssize_t n = pread(fd, p, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

template <typename Record>
bool fixedPart(const uint8_t* data, size_t bytes, Record* out) {
  if (bytes < sizeof(Record)) return false;
  memcpy(out, data, sizeof(Record));
  return true;
}

}  // namespace

TraceError::TraceError(const std::string& path, uint64_t offset, const std::string& what)
    : std::runtime_error(path + ": " + what + " (at byte " + std::to_string(offset) + ")"),
      offset_(offset),
      reason_(what) {}

TraceReader::TraceReader(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw TraceError(path, 0, std::string("cannot open: ") + strerror(errno));
  struct stat info;
  if (fstat(fd_, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd_);
    throw TraceError(path, 0, std::string("cannot open: ") + strerror(EISDIR));
  }
  FileHeader header;
  if (!preadAll(fd_, &header, sizeof header, 0)) {
    ::close(fd_);
    throw TraceError(path, 0, "not a tidemark trace (file shorter than its header)");
  }
  if (memcmp(header.magic, kFileMagic, sizeof header.magic) != 0) {
    ::close(fd_);
    throw TraceError(path, 0, "not a tidemark trace (bad magic)");
  }
  if (header.versionMajor != kVersionMajor) {
    ::close(fd_);
    throw TraceError(path, 8,
                     "trace format version " + std::to_string(header.versionMajor) + "." +
                         std::to_string(header.versionMinor) + " is not readable by this " +
                         "tidemark, which reads version " + std::to_string(kVersionMajor) + ".x");
  }
  if (header.headerBytes < sizeof header || header.headerBytes > 4096) {
    ::close(fd_);
    throw TraceError(path, 12, "bad file header size");
  }
  offset_ = header.headerBytes;
  versionMinor_ = header.versionMinor;
  dctx_ = ZSTD_createDCtx();
}

TraceReader::~TraceReader() {
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_));
}

uint64_t TraceReader::fileBytes() const {
  struct stat st;
  return fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool TraceReader::truncated() const { return fileBytes() > offset_; }

void TraceReader::fail(uint64_t at, const std::string& what) const {
  throw TraceError(path_, at, what);
}

uint32_t TraceReader::stackId(uint64_t value, uint64_t at) const {
  if (value > kMaxStackId) {
    fail(at, "corrupt trace: stack id " + std::to_string(value) + " out of range");
  }
  return static_cast<uint32_t>(value);
}

bool TraceReader::nextChunk(ChunkHeader* chunk, uint64_t fileSize) {
  if (fileSize - offset_ < sizeof(ChunkHeader)) return false;
  if (!preadAll(fd_, chunk, sizeof *chunk, offset_)) return false;
  if (chunk->magic != kChunkMagic) fail(offset_, "corrupt trace: bad chunk marker");
  if (chunk->rawBytes > kMaxChunkRawBytes ||
      chunk->compressedBytes > ZSTD_compressBound(kMaxChunkRawBytes)) {
    fail(offset_, "corrupt trace: chunk larger than the format allows");
  }
  if (chunk->sequence != nextSequence_) {
    fail(offset_, "corrupt trace: chunk " + std::to_string(chunk->sequence) + " where " +
                      std::to_string(nextSequence_) + " was expected");
  }
  return fileSize - offset_ - sizeof *chunk >= chunk->compressedBytes;  // whole yet?
}

uint64_t TraceReader::skipAvailable(uint64_t maxChunks) {
  uint64_t chunks = 0;
  uint64_t size = fileBytes();
  for (ChunkHeader chunk; chunks < maxChunks && nextChunk(&chunk, size); ++chunks) {
    offset_ += sizeof chunk + chunk.compressedBytes;
    ++nextSequence_;
  }
  skippedEvents_ = skippedEvents_ || chunks > 0;
  return chunks;
}

uint64_t TraceReader::readAvailable(RecordVisitor& visitor, uint64_t maxChunks) {
  uint64_t chunks = 0;
  uint64_t size = fileBytes();
  ChunkHeader chunk;
  while (chunks < maxChunks && nextChunk(&chunk, size)) {
    compressed_.resize(chunk.compressedBytes);
    if (!preadAll(fd_, compressed_.data(), chunk.compressedBytes, offset_ + sizeof chunk)) break;
    raw_.resize(chunk.rawBytes);
    size_t n = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(dctx_), raw_.data(), raw_.size(),
                                   compressed_.data(), compressed_.size());
    if (ZSTD_isError(n) || n != chunk.rawBytes) {
      fail(offset_, std::string("corrupt trace: chunk does not decompress (") +
                        (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch") + ")");
    }
    decodeChunk(raw_.data(), n, offset_, visitor);
    offset_ += sizeof chunk + chunk.compressedBytes;
    ++nextSequence_;
    ++chunks;
  }
  return chunks;
}

void TraceReader::decodeChunk(const uint8_t* data, size_t bytes, uint64_t chunkOffset,
                              RecordVisitor& v) {
  size_t pos = 0;
  while (pos < bytes) {
    RecordHeader header;
    if (bytes - pos < sizeof header) fail(chunkOffset, "corrupt trace: partial record header");
    memcpy(&header, data + pos, sizeof header);
    if (header.length < sizeof header || header.length > bytes - pos) {
      fail(chunkOffset,
           "corrupt trace: record length out of bounds at chunk byte " + std::to_string(pos));
    }
    decodeRecord(data + pos, header.length, chunkOffset, v);
    pos += header.length;
  }
}

void TraceReader::decodeRecord(const uint8_t* data, size_t bytes, uint64_t at, RecordVisitor& v) {
  RecordKind kind;
  memcpy(&kind, data, sizeof kind);
  if (execTrailerUs_ != UINT64_MAX) {
    v.onExecFailed(execTrailerUs_);
    execTrailerUs_ = UINT64_MAX;
  }
  switch (kind) {
    case RecordKind::ProcessInfo: {
      ProcessInfoRecord r;
      ProcessInfo info;
      std::string commandLine;
      Cursor c(data + sizeof r, data + bytes);
      if (!fixedPart(data, bytes, &r) || !c.string(&info.executable) || !c.string(&commandLine)) {
        fail(at, "corrupt trace: bad process record");
      }
      info.pointerBytes = r.pointerBytes;
      info.pageBytes = r.pageBytes;
      info.pid = r.pid;
      info.parentPid = r.parentPid;
      info.startRealtimeNs = r.startRealtimeNs;
      info.startMonotonicNs = r.startMonotonicNs;
      info.execGeneration = r.execGeneration;
      for (size_t start = 0; start < commandLine.size();) {
        size_t end = commandLine.find('\0', start);
        if (end == std::string::npos) end = commandLine.size();
        info.arguments.push_back(commandLine.substr(start, end - start));
        start = end + 1;
      }
      v.onProcessInfo(info);
      return;
    }
    case RecordKind::ModuleLoad: {
      ModuleLoadRecord r;
      ModuleInfo m;
      Cursor c(data + sizeof r, data + bytes);
      if (!fixedPart(data, bytes, &r) || !c.string(&m.path) || r.buildIdBytes > 64 ||
          r.segmentCount > 64) {
        fail(at, "corrupt trace: bad module record");
      }
      m.buildId.resize(r.buildIdBytes);
      m.segments.resize(r.segmentCount);
      if (!c.bytes(m.buildId.data(), r.buildIdBytes) ||
          !c.bytes(m.segments.data(), r.segmentCount * sizeof(ModuleSegment))) {
        fail(at, "corrupt trace: bad module record");
      }
      m.timeUs = r.timeUs;
      m.loadBias = r.loadBias;
      v.onModuleLoad(m);
      return;
    }
    case RecordKind::ModuleUnload: {
      ModuleUnloadRecord r;
      if (!fixedPart(data, bytes, &r)) fail(at, "corrupt trace: bad module unload record");
      v.onModuleUnload(r.timeUs, r.loadBias);
      return;
    }
    case RecordKind::ThreadInfo: {
      ThreadInfoRecord r;
      ThreadInfo t;
      Cursor c(data + sizeof r, data + bytes);
      if (!fixedPart(data, bytes, &r) || !c.string(&t.name)) {
        fail(at, "corrupt trace: bad thread record");
      }
      t.timeUs = r.timeUs;
      t.tid = r.tid;
      t.stackLow = r.stackLow;
      t.stackHigh = r.stackHigh;
      v.onThreadInfo(t);
      return;
    }
    case RecordKind::EventBatch:
      if (!skippedEvents_) decodeBatch(data, bytes, at, v);
      return;
    case RecordKind::ProcessSample: {
      ProcessSampleRecord r;
      ProcessSample s;
      if (!fixedPart(data, bytes, &r) ||
          r.threadCount > (bytes - sizeof r) / sizeof(ThreadStackSample)) {
        fail(at, "corrupt trace: bad sample record");
      }
      s.timeUs = r.timeUs;
      s.rssBytes = r.rssBytes;
      s.heapInUseBytes = r.heapInUseBytes;
      s.threads.resize(r.threadCount);
      if (r.threadCount) {  // else data() may be null
        memcpy(s.threads.data(), data + sizeof r, r.threadCount * sizeof(ThreadStackSample));
      }
      v.onSample(s);
      return;
    }
    case RecordKind::Trailer: {
      TrailerRecord r;
      if (!fixedPart(data, bytes, &r)) fail(at, "corrupt trace: bad trailer");
      v.onTrailer(Trailer{r.timeUs, r.events, r.droppedEvents, r.stacks,
                          static_cast<ExitReason>(r.exitReason)});
      if (static_cast<ExitReason>(r.exitReason) == ExitReason::Exec) execTrailerUs_ = r.timeUs;
      return;
    }
    case RecordKind::SnapshotBegin: {
      SnapshotBeginRecord r;
      if (!fixedPart(data, bytes, &r)) fail(at, "corrupt trace: bad snapshot record");
      snapshotAddress_ = snapshotSource_ = snapshotBlocks_ = 0;
      v.onSnapshotBegin(SnapshotInfo{
          r.id, r.timeUs, r.pauseUs, static_cast<SnapshotTrigger>(r.trigger),
          (r.flags & kSnapshotIncomplete) == 0, r.blocks,
          (r.flags & kSnapshotAllocatorMappingsLost) != 0, (r.flags & kSnapshotGuarded) != 0,
          r.flags & kSnapshotThreadReasons, r.threadsNotStopped});
      return;
    }
    case RecordKind::SnapshotBlocks:
    case RecordKind::SnapshotRoots:
    case RecordKind::SnapshotEdges:
      decodeSnapshotPart(data, bytes, at, v);
      return;
    case RecordKind::SnapshotEnd: {
      SnapshotEndRecord r;
      if (!fixedPart(data, bytes, &r)) fail(at, "corrupt trace: bad snapshot end");
      v.onSnapshotEnd(r.snapshot, r.scanUs, r.flags);
      return;
    }
    case RecordKind::SnapshotFailed: {
      SnapshotFailedRecord r;
      if (!fixedPart(data, bytes, &r)) fail(at, "corrupt trace: bad snapshot failure");
      v.onSnapshotFailed(SnapshotFailureInfo{r.snapshot, r.timeUs,
                                             static_cast<SnapshotTrigger>(r.trigger),
                                             static_cast<SnapshotFailure>(r.reason), r.detail});
      return;
    }
    case RecordKind::SnapshotUnreadable: {
      SnapshotUnreadableRecord r;
      SnapshotUnreadable u;
      Cursor c(data + sizeof r, data + bytes);
      if (!fixedPart(data, bytes, &r) || r.end < r.begin || !c.string(&u.mapping)) {
        fail(at, "corrupt trace: bad unreadable memory record");
      }
      u.id = r.snapshot;
      u.begin = r.begin;
      u.end = r.end;
      u.signal = r.signal;
      u.code = r.code;
      u.fatal = (r.flags & kUnreadableFatal) != 0;
      v.onSnapshotUnreadable(u);
      return;
    }
  }
  // A kind this reader does not know: a newer minor version added it. Skip it.
}

void TraceReader::decodeSnapshotPart(const uint8_t* data, size_t bytes, uint64_t at,
                                     RecordVisitor& v) {
  SnapshotPartRecord r;
  if (!fixedPart(data, bytes, &r) || r.count > bytes) fail(at, "corrupt trace: bad snapshot part");
  const uint8_t* pos = data + sizeof r;
  const uint8_t* end = data + bytes;
  auto number = [&]() {
    uint64_t value;
    if (!getVarint(&pos, end, &value)) fail(at, "corrupt trace: truncated snapshot entry");
    return value;
  };
  auto blockIndex = [&](uint64_t index) {
    if (index >= snapshotBlocks_) fail(at, "corrupt trace: snapshot refers to a block it lacks");
    return index;
  };
  // Before version 1.3 a pointer was one bit: start or interior.
  const unsigned pointerBits = versionMinor_ >= 3 ? 3 : 1;
  const uint64_t pointerMask = (uint64_t{1} << pointerBits) - 1;
  auto pointerKind = [&](uint64_t value) {
    if (value >= kPointerKinds) fail(at, "corrupt trace: unknown snapshot pointer kind");
    return static_cast<PointerKind>(value);
  };
  switch (r.header.kind) {
    case RecordKind::SnapshotBlocks:
      blocks_.clear();
      for (uint32_t i = 0; i < r.count; ++i) {
        SnapshotBlock b;
        b.address = snapshotAddress_ += static_cast<uint64_t>(unzigzag(number()));
        b.size = number();
        b.stack = stackId(number(), at);
        b.allocTimeUs = number();
        blocks_.push_back(b);
      }
      snapshotBlocks_ += r.count;
      v.onSnapshotBlocks(blocks_);
      return;
    case RecordKind::SnapshotRoots:
      roots_.clear();
      for (uint32_t i = 0; i < r.count; ++i) {
        uint64_t kind = number();
        SnapshotRoot root;
        root.kind = static_cast<RootKind>(kind >> pointerBits);
        root.pointer = pointerKind(kind & pointerMask);
        root.block = blockIndex(number());
        root.location = number();
        roots_.push_back(root);
      }
      v.onSnapshotRoots(roots_);
      return;
    default:
      edges_.clear();
      for (uint32_t i = 0; i < r.count; ++i) {
        SnapshotEdge e;
        e.from = blockIndex(snapshotSource_ += number());
        uint64_t target = number();
        // Since 1.3 the target is relative to the source.
        uint64_t to = versionMinor_ >= 3
                          ? e.from + static_cast<uint64_t>(unzigzag(target >> pointerBits))
                          : target >> pointerBits;
        e.to = blockIndex(to);
        e.pointer = pointerKind(target & pointerMask);
        edges_.push_back(e);
      }
      v.onSnapshotEdges(edges_);
      return;
  }
}

void TraceReader::decodeBatch(const uint8_t* data, size_t bytes, uint64_t at, RecordVisitor& v) {
  EventBatchRecord r;
  if (!fixedPart(data, bytes, &r)) fail(at, "corrupt trace: bad event batch");
  RingState& ring = rings_[r.ring];
  const uint8_t* pos = data + sizeof r;
  const uint8_t* end = data + bytes;
  auto number = [&]() {
    uint64_t value;
    if (!getVarint(&pos, end, &value)) fail(at, "corrupt trace: truncated packed event");
    return value;
  };
  auto address = [&](uint64_t base) { return base + static_cast<uint64_t>(unzigzag(number())); };
  // Events go to the visitor in runs, and any other record first hands over the run
  // before it, so that the visitor sees everything in trace order.
  constexpr size_t kEventRun = 64;
  events_.clear();
  auto handOver = [&] {
    if (events_.empty()) return;
    v.onEvents(events_);
    events_.clear();
  };
  while (pos < end) {
    uint8_t opcode = *pos++;
    auto op = static_cast<PackedOp>(opcode & kPackedOpMask);
    switch (op) {
      case PackedOp::Alloc:
      case PackedOp::Free:
      case PackedOp::FreeOther:
      case PackedOp::Realloc:
      case PackedOp::Mmap:
      case PackedOp::Munmap:
        break;  // an event: below
      case PackedOp::Time:
        ring.timeUs = number();
        continue;
      case PackedOp::Stack: {
        uint32_t id = stackId(number(), at);
        uint64_t depth = number();
        if (depth > kMaxStackDepth) fail(at, "corrupt trace: bad stack");
        ips_.resize(depth);
        uint64_t ip = 0;
        for (auto& slot : ips_) slot = ip = address(ip);
        handOver();
        v.onStack(id, ips_);
        continue;
      }
      case PackedOp::ThreadAttach:
        ring = RingState{};
        ring.tid = static_cast<int32_t>(number());
        continue;
      case PackedOp::ThreadDetach:
        handOver();
        v.onThreadEnd(ring.tid, ring.timeUs);
        continue;
      case PackedOp::Mark: {
        uint64_t length = number();
        if (length > kMaxMarkBytes || static_cast<uint64_t>(end - pos) < length) {
          fail(at, "corrupt trace: bad mark");
        }
        std::string label(reinterpret_cast<const char*>(pos), length);
        pos += length;
        handOver();
        v.onMark(ring.tid, ring.timeUs, label);
        continue;
      }
      default:
        // A newer minor version may add ops, which cannot be skipped (they have no length).
        if (versionMinor_ > kVersionMinor) {
          fail(at, "packed event " + std::to_string(opcode) + " of trace format " +
                       std::to_string(kVersionMajor) + "." + std::to_string(versionMinor_) +
                       ", newer than this tidemark reads (" + std::to_string(kVersionMajor) + "." +
                       std::to_string(kVersionMinor) + ")");
        }
        fail(at, "corrupt trace: unknown packed event " + std::to_string(opcode));
    }
    // Filled where it lies: a local copied in whole after its fields were stored one by
    // one stalled on store forwarding (a third of the decoding time).
    Event& e = events_.emplace_back();
    e.op = op;
    e.function = static_cast<AllocFunction>(opcode >> 4);
    e.tid = ring.tid;
    e.ring = r.ring;
    e.timeUs = ring.timeUs;
    switch (op) {
      case PackedOp::Alloc:
        e.size = number();
        e.stack = stackId(number(), at);
        e.address = ring.lastAddress = address(ring.lastAddress);
        break;
      case PackedOp::Free:
        e.function = static_cast<AllocFunction>((opcode >> 4) & ~kOwnBlock);
        e.freed = (opcode >> 4) & kOwnBlock ? FreedBlock::Own : FreedBlock::Unknown;
        e.address = ring.lastAddress = address(ring.lastAddress);
        break;
      case PackedOp::FreeOther:
        e.op = PackedOp::Free;
        e.freed = FreedBlock::Other;
        e.address = ring.lastAddress = address(ring.lastAddress);
        e.size = number();
        e.stack = stackId(number(), at);
        break;
      case PackedOp::Realloc:
        e.function = AllocFunction::Malloc;
        e.freed = (opcode >> 4) & kOwnBlock ? FreedBlock::Own : FreedBlock::Unknown;
        e.size = number();
        e.stack = stackId(number(), at);
        e.oldAddress = address(ring.lastAddress);
        e.address = ring.lastAddress = address(e.oldAddress);
        break;
      case PackedOp::Mmap:
        e.address = ring.lastAddress = address(ring.lastAddress);
        e.size = number();
        e.stack = stackId(number(), at);
        break;
      default:  // Munmap
        e.address = ring.lastAddress = address(ring.lastAddress);
        e.size = number();
        break;
    }
    if (events_.size() == kEventRun) handOver();
  }
  handOver();
}

}  // namespace tidemark::format
