// Decodes a trace file into typed records and events for the analyzer. The only code
// that parses trace bytes. Reads incrementally, so a trace still being written can be
// followed. Errors: TraceError (corrupt or unreadable input), naming file and offset.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "trace_format.h"

namespace tidemark::format {

class TraceError : public std::runtime_error {
 public:
  TraceError(const std::string& path, uint64_t offset, const std::string& what);
  uint64_t offset() const { return offset_; }
  const std::string& reason() const { return reason_; }  // what() without file and offset

 private:
  uint64_t offset_;
  std::string reason_;
};

struct ProcessInfo {
  uint32_t pointerBytes = 8;
  uint32_t pageBytes = 4096;
  int32_t pid = 0;
  int32_t parentPid = 0;
  uint64_t startRealtimeNs = 0;
  uint64_t startMonotonicNs = 0;  // event times are relative to it
  uint32_t execGeneration = 0;
  std::string executable;
  std::vector<std::string> arguments;
};

struct ModuleInfo {
  uint64_t timeUs = 0;
  uint64_t loadBias = 0;
  std::string path;
  std::string buildId;  // raw bytes
  std::vector<ModuleSegment> segments;
};

struct ThreadInfo {
  uint64_t timeUs = 0;
  int32_t tid = 0;
  uint64_t stackLow = 0;
  uint64_t stackHigh = 0;
  std::string name;
};

struct ProcessSample {
  uint64_t timeUs = 0;
  uint64_t rssBytes = 0;
  uint64_t heapInUseBytes = 0;
  std::vector<ThreadStackSample> threads;
};

struct Trailer {
  uint64_t timeUs = 0;
  uint64_t events = 0;
  uint64_t droppedEvents = 0;
  uint32_t stacks = 0;
  ExitReason exitReason = ExitReason::Normal;
};

struct SnapshotInfo {
  uint32_t id = 0;
  uint64_t timeUs = 0;
  uint64_t pauseUs = 0;
  SnapshotTrigger trigger = SnapshotTrigger::Exit;
  bool complete = true;
  uint64_t blocks = 0;
  bool allocatorMappingsLost = false;  // see kSnapshotAllocatorMappingsLost
  bool guarded = false;                // see kSnapshotGuarded
  uint32_t incompleteFlags = 0;        // kSnapshotThreads* bits: why threads were not stopped
  uint32_t threadsNotStopped = 0;
};

struct SnapshotFailureInfo {
  uint32_t id = 0;
  uint64_t timeUs = 0;
  SnapshotTrigger trigger = SnapshotTrigger::Exit;
  SnapshotFailure reason = SnapshotFailure::ScannerKilled;
  int32_t detail = 0;  // a signal number, exit status or errno, by reason
};

// Memory the scan read as zeros because it could not read it, or a fault the scan died of
// (SnapshotUnreadableRecord).
struct SnapshotUnreadable {
  uint32_t id = 0;
  uint64_t begin = 0;
  uint64_t end = 0;
  int32_t signal = 0;
  int32_t code = 0;
  std::string mapping;  // its line in /proc/PID/maps
  bool fatal = false;   // the scan died of it: not read as zeros
};

struct SnapshotBlock {
  uint64_t address;
  uint64_t size;
  uint32_t stack;
  uint64_t allocTimeUs;
};

struct SnapshotRoot {
  RootKind kind;
  PointerKind pointer;
  uint64_t block;     // index into the snapshot's blocks
  uint64_t location;  // address of the word that holds the pointer
};

struct SnapshotEdge {
  uint64_t from;  // block indexes
  uint64_t to;
  PointerKind pointer;
};

// One decoded packed event. Fields not used by an op are zero.
// Whose block a Free event ended (trace_format.h, 1.7).
enum class FreedBlock : uint8_t {
  Unknown,  // a plain Free, or a trace before 1.7
  Own,      // the latest block at the address allocated on the same ring
  Other,    // a block another ring allocated: size and stack say which
};

struct Event {
  PackedOp op;  // FreeOther arrives as Free with `freed` Other
  AllocFunction function;
  FreedBlock freed;  // Free, and Realloc's old block
  int32_t tid;
  uint64_t timeUs;
  uint64_t address;     // the block (new block for Realloc)
  uint64_t oldAddress;  // Realloc only
  uint64_t size;        // Alloc, Realloc, Mmap, Munmap
  uint32_t stack;
  uint32_t ring;  // the ring that wrote it
};

class RecordVisitor {
 public:
  virtual ~RecordVisitor() = default;
  virtual void onProcessInfo(const ProcessInfo&) {}
  virtual void onModuleLoad(const ModuleInfo&) {}
  virtual void onModuleUnload(uint64_t /*timeUs*/, uint64_t /*loadBias*/) {}
  virtual void onThreadInfo(const ThreadInfo&) {}
  virtual void onStack(uint32_t /*id*/, const std::vector<uint64_t>& /*ips*/) {}
  // A run of consecutive events (allocations, frees, mappings), in trace order. Runs, not
  // single events, so that a visitor can start loading what the later ones will touch.
  virtual void onEvents(std::span<const Event>) {}
  virtual void onThreadEnd(int32_t /*tid*/, uint64_t /*timeUs*/) {}
  virtual void onMark(int32_t /*tid*/, uint64_t /*timeUs*/, const std::string& /*label*/) {}
  virtual void onSample(const ProcessSample&) {}
  virtual void onTrailer(const Trailer&) {}
  // Records came after a trailer that said exec (1.9): the exec failed, and the program
  // went on; its trace ends at a later trailer.
  virtual void onExecFailed(uint64_t /*timeUs*/) {}
  // A snapshot arrives as Begin, its parts in order (blocks, roots, edges), End.
  virtual void onSnapshotBegin(const SnapshotInfo&) {}
  virtual void onSnapshotBlocks(const std::vector<SnapshotBlock>&) {}
  virtual void onSnapshotRoots(const std::vector<SnapshotRoot>&) {}
  virtual void onSnapshotEdges(const std::vector<SnapshotEdge>&) {}
  // `complete`: false when the scan found out it could not see everything.
  virtual void onSnapshotEnd(uint32_t /*id*/, uint64_t /*scanUs*/, uint32_t /*flags*/) {}
  // In place of End (1.5), or with no Begin at all when the scan never started.
  virtual void onSnapshotFailed(const SnapshotFailureInfo&) {}
  virtual void onSnapshotUnreadable(const SnapshotUnreadable&) {}
};

class TraceReader {
 public:
  // Opens the file and checks its header. Throws TraceError.
  explicit TraceReader(const std::string& path);
  ~TraceReader();

  // Decodes the whole chunks not read yet (at most maxChunks of them), calling
  // `visitor`. Returns the number of chunks read. Throws TraceError on corrupt input; a
  // chunk not yet complete at the end of the file is left for the next call (the file
  // may still be growing).
  uint64_t readAvailable(RecordVisitor& visitor, uint64_t maxChunks = UINT64_MAX);

  // Passes over the whole chunks not read yet (at most maxChunks of them) without
  // decoding them, for a reader that wants only what comes next (`tidemark snapshot`
  // waiting for its snapshot). Events are not decoded after it: they are delta-coded from
  // what was passed over. Returns the number of chunks passed over.
  uint64_t skipAvailable(uint64_t maxChunks = UINT64_MAX);

  // After the last readAvailable(): true when bytes of an incomplete chunk remain.
  bool truncated() const;
  uint64_t bytesRead() const { return offset_; }
  uint64_t chunksRead() const { return nextSequence_; }  // or passed over
  uint64_t fileBytes() const;
  const std::string& path() const { return path_; }

 private:
  // The header of the next whole chunk, checked; false when none is whole yet.
  bool nextChunk(ChunkHeader* chunk, uint64_t fileSize);
  void decodeChunk(const uint8_t* data, size_t bytes, uint64_t chunkOffset, RecordVisitor& v);
  void decodeRecord(const uint8_t* data, size_t bytes, uint64_t at, RecordVisitor& v);
  void decodeBatch(const uint8_t* data, size_t bytes, uint64_t at, RecordVisitor& v);
  void decodeSnapshotPart(const uint8_t* data, size_t bytes, uint64_t at, RecordVisitor& v);
  [[noreturn]] void fail(uint64_t at, const std::string& what) const;
  // A stack id as read, checked against kMaxStackId.
  uint32_t stackId(uint64_t value, uint64_t at) const;

  struct RingState {
    int32_t tid = 0;
    uint64_t timeUs = 0;
    uint64_t lastAddress = 0;
  };

  std::string path_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  uint32_t nextSequence_ = 0;
  bool skippedEvents_ = false;
  uint64_t execTrailerUs_ = UINT64_MAX;  // the time of a trailer that said exec, last read
  std::unordered_map<uint32_t, RingState> rings_;
  std::vector<uint8_t> compressed_;
  std::vector<uint8_t> raw_;
  std::vector<uint64_t> ips_;
  std::vector<Event> events_;  // the run decoded but not handed over yet
  // Snapshot decoding state: delta bases, and the sizes that indexes must stay below.
  uint64_t snapshotAddress_ = 0;
  uint64_t snapshotSource_ = 0;
  uint16_t versionMinor_ = 0;  // the file's: how snapshot pointers are encoded
  uint64_t snapshotBlocks_ = 0;
  std::vector<SnapshotBlock> blocks_;
  std::vector<SnapshotRoot> roots_;
  std::vector<SnapshotEdge> edges_;
  void* dctx_ = nullptr;
};

}  // namespace tidemark::format
