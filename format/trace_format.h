// The tidemark trace format: the one definition of every record the tracer writes and
// the analyzer reads. No record code appears anywhere else. docs/format.md explains it.
//
// A trace file is a FileHeader followed by chunks. Each chunk is a ChunkHeader and one
// zstd frame (with content checksum) holding whole records; a chunk boundary is a
// recovery point, so a trace cut short is readable up to its last whole chunk.
//
// Every record starts with a RecordHeader {kind, length}; a reader skips kinds it does
// not know by their length. Hot events (alloc, free, ...) travel packed inside
// EventBatch records, see the "Packed events" section below.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tidemark::format {

inline constexpr char kFileMagic[8] = {'T', 'I', 'D', 'E', 'M', 'R', 'K', '\n'};
inline constexpr uint16_t kVersionMajor = 1;
// 1: heap-graph snapshots; 2: inherited blocks; 3: a snapshot pointer's kind says which
// heuristic accepted an interior pointer (before: start or interior only), and an edge's
// target is relative to its source; 4: exit by a signal; 5: SnapshotFailed;
// 6: SnapshotUnreadable; 7: a free says whose block it freed (kOwnBlock, FreeOther);
// 8: why a snapshot is incomplete (kSnapshotThreads*, threadsNotStopped); 9: a trailer
// that says exec, followed by more records: the exec failed and the trace goes on;
// 10: a trailer that says tracing stopped because the trace could not be written, and
// one that tidemark record wrote for a process that ended without one
inline constexpr uint16_t kVersionMinor = 10;
inline constexpr uint32_t kChunkMagic = 0x4b434d54;  // "TMCK" little-endian
// A reader refuses a chunk whose sizes exceed these, so a hostile file cannot make it
// allocate without bound.
inline constexpr uint32_t kMaxChunkRawBytes = 64u << 20;
inline constexpr uint32_t kMaxStackDepth = 128;
// Stack ids are dense from 1 and the analysis keeps a site per id up to the highest: an
// id above this (more than the tracer's stack table holds) is corruption, not a reason
// to allocate gigabytes.
inline constexpr uint32_t kMaxStackId = (1u << 21) - 1;

struct FileHeader {
  char magic[8];
  uint16_t versionMajor;
  uint16_t versionMinor;
  uint32_t headerBytes;  // sizeof(FileHeader) of the writer; readers skip the rest
};
static_assert(sizeof(FileHeader) == 16);

struct ChunkHeader {
  uint32_t magic;
  uint32_t compressedBytes;
  uint32_t rawBytes;
  uint32_t sequence;  // 0, 1, 2, ... ; a gap means a lost chunk
};
static_assert(sizeof(ChunkHeader) == 16);

enum class RecordKind : uint16_t {
  ProcessInfo = 1,     // first record of a trace
  ModuleLoad = 2,      // a loaded ELF object (at start, and on dlopen)
  ModuleUnload = 3,    // dlclose
  ThreadInfo = 4,      // a thread's name and stack range (sent again when they change)
  EventBatch = 5,      // packed hot events of one per-thread ring
  ProcessSample = 6,   // RSS, heap, thread stacks at a fixed interval
  Trailer = 7,         // last record of a cleanly finished trace
  SnapshotBegin = 8,   // a heap-graph snapshot: Begin, then Blocks, Roots and Edges records
  SnapshotBlocks = 9,  // (each kind possibly split over several records), then End
  SnapshotRoots = 10,
  SnapshotEdges = 11,
  SnapshotEnd = 12,
  SnapshotFailed = 13,      // a snapshot that ended without its End record, and why (1.5)
  SnapshotUnreadable = 14,  // memory the scan could not read, before the End (1.6)
};

struct RecordHeader {
  RecordKind kind;
  uint16_t reserved;
  uint32_t length;  // bytes of the whole record including this header
};
static_assert(sizeof(RecordHeader) == 8);

// Variable-length payloads (strings, arrays) follow the fixed struct of their record.
// A string is a uint32_t byte count and the bytes, without a terminating NUL.

struct ProcessInfoRecord {
  RecordHeader header;
  uint32_t pointerBytes;
  uint32_t pageBytes;
  int32_t pid;
  int32_t parentPid;
  uint64_t startRealtimeNs;   // CLOCK_REALTIME at trace start
  uint64_t startMonotonicNs;  // CLOCK_MONOTONIC at trace start; event times are relative
  uint32_t execGeneration;    // 0 for a process's first program, +1 per traced exec
  uint32_t reserved;
  // then: string executable, string commandLine (arguments separated by NUL)
};
static_assert(sizeof(ProcessInfoRecord) == 48);

struct ModuleLoadRecord {
  RecordHeader header;
  uint64_t timeUs;
  uint64_t loadBias;      // dlpi_addr: added to the ELF's virtual addresses
  uint32_t segmentCount;  // PT_LOAD segments that follow the strings
  uint32_t buildIdBytes;
  // then: string path, buildIdBytes bytes of build-id, segmentCount x ModuleSegment
};
static_assert(sizeof(ModuleLoadRecord) == 32);

struct ModuleSegment {
  uint64_t start;  // absolute address
  uint64_t bytes;
  uint32_t flags;  // PF_R | PF_W | PF_X
  uint32_t reserved;
};
static_assert(sizeof(ModuleSegment) == 24);

struct ModuleUnloadRecord {
  RecordHeader header;
  uint64_t timeUs;
  uint64_t loadBias;
};
static_assert(sizeof(ModuleUnloadRecord) == 24);

struct ThreadInfoRecord {
  RecordHeader header;
  uint64_t timeUs;
  int32_t tid;
  uint32_t reserved;
  uint64_t stackLow;   // lowest address of the stack mapping, 0 if unknown
  uint64_t stackHigh;  // one past the highest
  // then: string name
};
static_assert(sizeof(ThreadInfoRecord) == 40);

struct EventBatchRecord {
  RecordHeader header;
  uint32_t ring;  // which per-thread ring; decoding state is kept per ring
  uint32_t reserved;
  // then: packed events up to header.length
};
static_assert(sizeof(EventBatchRecord) == 16);

struct ThreadStackSample {
  int32_t tid;
  uint32_t reserved;
  uint64_t residentBytes;  // resident pages of the thread's stack mapping (mincore)
};
static_assert(sizeof(ThreadStackSample) == 16);

struct ProcessSampleRecord {
  RecordHeader header;
  uint64_t timeUs;
  uint64_t rssBytes;
  uint64_t heapInUseBytes;  // the allocator's own view (mallinfo2)
  uint32_t threadCount;
  uint32_t reserved;
  // then: threadCount x ThreadStackSample
};
static_assert(sizeof(ProcessSampleRecord) == 40);

struct TrailerRecord {
  RecordHeader header;
  uint64_t timeUs;
  uint64_t events;         // packed events written
  uint64_t droppedEvents;  // events the tracer could not record (it marks itself degraded)
  uint32_t stacks;         // distinct stacks interned
  uint32_t exitReason;     // ExitReason
};
static_assert(sizeof(TrailerRecord) == 40);

// ---------------------------------------------------------------------------------------
// Heap-graph snapshots
//
// A snapshot is the live blocks at one instant and the pointers found between them and
// from the roots. Blocks are listed in address order and referred to by that index.
// Blocks, roots and edges are packed like events (varints; see below) so that a snapshot
// of millions of blocks splits over as many records as it needs.

enum class SnapshotTrigger : uint32_t { Periodic = 1, Signal = 2, Exit = 3, Api = 4 };
inline constexpr uint32_t kMaxMarkBytes = 255;

struct SnapshotBeginRecord {
  RecordHeader header;
  uint64_t timeUs;
  uint64_t pauseUs;  // how long the program's threads were stopped
  uint64_t reserved0;
  uint32_t id;                 // 0, 1, 2, ... within the trace
  uint32_t trigger;            // SnapshotTrigger
  uint32_t flags;              // kSnapshotIncomplete (and why), kSnapshotAllocatorMappingsLost, ...
  uint32_t threadsNotStopped;  // threads whose stacks and registers were not roots (1.8)
  uint64_t blocks;
  uint64_t roots;  // 0: the scan does not know them when it begins (reserved)
  uint64_t edges;  // 0, likewise
};
static_assert(sizeof(SnapshotBeginRecord) == 72);
inline constexpr uint32_t kSnapshotIncomplete = 1;
// The tracer's list of allocator mappings (kAllocatorMappingSlots ranges) was full: some
// allocator memory was scanned as roots, which can hide leaks.
inline constexpr uint32_t kSnapshotAllocatorMappingsLost = 2;
inline constexpr uint32_t kAllocatorMappingSlots = 16384;
// The tracer guarded the program's big mappings instead of copying them (by default for a
// heap of 64 MiB or more resident, or --guard-heap).
inline constexpr uint32_t kSnapshotGuarded = 4;
// Why threads were not stopped (1.8; each comes with kSnapshotIncomplete): ptrace refused
// them (a debugger or another tracer holds them, or ptrace is not allowed); they did not
// stop, or leave a tracer hook, within the stop's deadline; there were more than the stop
// can hold.
inline constexpr uint32_t kSnapshotThreadsRefused = 8;
inline constexpr uint32_t kSnapshotThreadsTimedOut = 16;
inline constexpr uint32_t kSnapshotTooManyThreads = 32;
inline constexpr uint32_t kSnapshotThreadReasons =
    kSnapshotThreadsRefused | kSnapshotThreadsTimedOut | kSnapshotTooManyThreads;
// What the scan found out (SnapshotEnd, 1.8; with kSnapshotIncomplete): memory under a
// live block it could not read (SnapshotUnreadable), guarded memory under live blocks or
// roots that changed before it was read.
inline constexpr uint32_t kSnapshotBlocksUnreadable = 64;
inline constexpr uint32_t kSnapshotGuardLostMemory = 128;

// SnapshotBlocks: after {header, uint32_t snapshot id, uint32_t reserved}, per block:
//   zz(address - previous address), size, stack id, allocation time µs (the tracer records
//   it to the millisecond)
// SnapshotRoots: per root: kind << 3 | pointer kind, block index, root word's address
// SnapshotEdges: per edge, sorted by source: source - previous source,
//   zz(target - source) << 3 | pointer kind
// (Before version 1.3: kind << 1 | interior and target << 1 | interior, the target
// absolute and a heuristic's interior pointer written as a start.)
struct SnapshotPartRecord {
  RecordHeader header;
  uint32_t snapshot;
  uint32_t count;  // entries in this record
};
static_assert(sizeof(SnapshotPartRecord) == 16);

// Where a root word was found.
enum class RootKind : uint8_t {
  Data = 0,      // a writable segment of a loaded object (.data, .bss)
  Stack = 1,     // a thread's stack, from its stack pointer up
  Register = 2,  // a thread's saved registers
  Tls = 3,       // thread-local storage
  Mapping = 4,   // the program's own anonymous writable mapping (JIT heaps, arenas)
};

// How a pointer refers to its block. An interior pointer of a shape C++ runtimes make on
// purpose counts as a start pointer, as in memcheck (its --leak-check-heuristics=all):
// the heuristic that accepted it is kept.
enum class PointerKind : uint8_t {
  Start = 0,
  Interior = 1,
  StdString = 2,            // to the characters of an old-ABI std::string
  Length64 = 3,             // past a leading 64-bit length of the rest
  NewArray = 4,             // past new[]'s element count
  MultipleInheritance = 5,  // to a second base's vtable pointer
};
inline constexpr uint8_t kPointerKinds = 6;

struct SnapshotEndRecord {
  RecordHeader header;
  uint32_t snapshot;
  uint32_t flags;   // kSnapshotIncomplete (and kSnapshotBlocksUnreadable, ...GuardLostMemory)
  uint64_t scanUs;  // how long the scan took (the program ran meanwhile)
};
static_assert(sizeof(SnapshotEndRecord) == 24);

// Memory of the program's that the scanning process could not read (1.6): a page of a
// file mapping beyond the file's end (SIGBUS), a guard region (SIGSEGV). The scan read it
// as zeros and went on; the program cannot read it either, so it holds no pointer unless
// a live block lies there (the End then says incomplete). Between the edges and the End.
// With kUnreadableFatal, a fault the scan died of (outside the program's memory: a bug),
// wherever the scan was; a SnapshotFailed follows. A string follows the struct: the
// mapping's line in /proc/PID/maps when the fault came.
struct SnapshotUnreadableRecord {
  RecordHeader header;
  uint32_t snapshot;
  int32_t signal;  // of the fault: SIGBUS, SIGSEGV
  uint64_t begin;  // [begin, end): whole pages
  uint64_t end;
  int32_t code;  // the fault's si_code (BUS_ADRERR, SEGV_ACCERR, ...)
  uint32_t flags;
};
static_assert(sizeof(SnapshotUnreadableRecord) == 40);
inline constexpr uint32_t kUnreadableFatal = 1;

// Why a snapshot has no End record. The tracer writes a SnapshotFailed in its place, after
// whatever part of the snapshot its scanning process wrote before it stopped (maybe
// nothing, not even the Begin).
enum class SnapshotFailure : uint32_t {
  ScannerKilled = 1,  // the scanning process died of a signal (detail: its number)
  ScannerExited = 2,  // it exited before its End (detail: its exit status)
  NoScanner = 3,      // the pipe, the stopping helper or the copy could not be made (errno)
  NotResumed = 4,     // the program's threads were not resumed within 5 s
  BrokenOutput = 5,   // the scanning process wrote something that is not a record
};

struct SnapshotFailedRecord {
  RecordHeader header;
  uint32_t snapshot;
  uint32_t trigger;  // a SnapshotTrigger
  uint64_t timeUs;   // when it was asked for, as in SnapshotBegin
  uint32_t reason;   // a SnapshotFailure
  int32_t detail;
};
static_assert(sizeof(SnapshotFailedRecord) == 32);

enum class ExitReason : uint32_t {
  Normal = 1,    // exit() or return from main
  FastExit = 2,  // _exit()
  Abort = 3,     // abort()
  Exec = 4,      // the process replaced its program; the next trace continues it
};
// A process that a signal ended by its default action (SIGTERM, SIGINT, SIGSEGV, ...; 1.4)
// has this plus the signal's number as its exit reason.
inline constexpr uint32_t kExitBySignal = 256;
inline constexpr ExitReason exitBySignal(int signal) {
  return static_cast<ExitReason>(kExitBySignal + static_cast<uint32_t>(signal));
}
// TrailerRecord::events of a trailer that `tidemark record` wrote (1.10) for a process that
// ended without one (SIGKILL, which the tracer cannot see; a raw exit_group): the file was
// cut back to its last whole chunk, and what the tracer had not written yet is lost.
inline constexpr uint64_t kTrailerWrittenAfterEnd = UINT64_MAX;
// A trace the tracer could not write on (a full disk, a file size limit; 1.10) ends with a
// trailer whose exit reason is this plus the errno of the write that failed: the file was
// cut back to its last whole chunk to make room for it, and the program went on untraced.
inline constexpr uint32_t kTracingStoppedByWriteError = 512;
inline constexpr ExitReason tracingStoppedBy(int error) {
  return static_cast<ExitReason>(kTracingStoppedByWriteError + static_cast<uint32_t>(error));
}
// The errno of the write that stopped tracing, or 0 for an exit reason of another kind.
inline constexpr int writeErrorOfStop(ExitReason reason) {
  auto value = static_cast<uint32_t>(reason);
  return value > kTracingStoppedByWriteError && value < kTracingStoppedByWriteError + 4096
             ? static_cast<int>(value - kTracingStoppedByWriteError)
             : 0;
}
// The signal that ended the process, or 0 for an exit reason of another kind.
inline constexpr int signalOfExit(ExitReason reason) {
  auto value = static_cast<uint32_t>(reason);
  return value > kExitBySignal && value < kExitBySignal + 128
             ? static_cast<int>(value - kExitBySignal)
             : 0;
}

// ---------------------------------------------------------------------------------------
// Packed events
//
// Inside an EventBatch, events are a byte stream written by one thread. Each starts with
// one opcode byte:
//
//   bit  7 6 5 4 3 2 1 0
//       [ detail  ][ op  ]     op: low 4 bits (PackedOp), detail: high 4 bits
//
// followed by LEB128 varints (unsigned) or zigzag varints (signed). Addresses are sent as
// the zigzag difference from the previous address this ring sent, which makes them short
// for an allocator that hands out neighbouring blocks. Times are microseconds since
// ProcessInfo.startMonotonicNs and only sent when the coarse clock moved.
//
// Worked example: malloc(24) returning 0x5555555592a0 right after a block at
// 0x555555559280, with stack id 7:
//   0x01            Alloc, detail 0 (AllocFunction::Malloc)
//   0x18            size 24
//   0x07            stack 7
//   0x40            zigzag(+0x20) = 0x40
//
// The decoder state of a ring (previous address, last time) resets at ThreadAttach.
enum class PackedOp : uint8_t {
  Alloc = 1,         // detail=AllocFunction; size, stack, zz(addr)
  Free = 2,          // detail=AllocFunction of the deallocator [| kOwnBlock]; zz(addr)
  Realloc = 3,       // [detail=kOwnBlock]; size, stack, zz(oldAddr), zz(newAddr) (newAddr
                     // relative to oldAddr)
  Time = 4,          // timeUs (absolute)
  Stack = 5,         // id, depth, then depth x zz(ip delta from the previous ip, first from 0)
  Mmap = 6,          // zz(addr), length, stack
  Munmap = 7,        // zz(addr), length
  ThreadAttach = 8,  // tid: this ring now belongs to that thread; resets decoder state
  ThreadDetach = 9,  // the thread ended
  Mark = 10,         // length, then that many bytes of label (tidemark_mark(); 1.1)
  FreeOther = 11,    // detail=AllocFunction; zz(addr), size, stack of the block (1.7)
};
// Which allocation a free ends (1.7). Rings are read one after another, so a free can
// reach the reader before its allocation, or after its address was handed out again,
// and the tracer's clock ticks every few milliseconds: times do not order them. The
// tracer knows whose live-block table held the block (when snapshots are on): a Free
// with kOwnBlock in its detail ends the latest block at its address allocated on this
// ring; a FreeOther ends a block another ring allocated, and says which by its size
// and stack. A plain Free (no table held the block, or tables are off) says nothing.
// Realloc's old block likewise: kOwnBlock in its detail, or a FreeOther of it followed by
// a Realloc from address 0.
inline constexpr unsigned kOwnBlock = 8;
inline constexpr uint8_t kPackedOpMask = 0x0f;

enum class AllocFunction : uint8_t {
  Malloc = 0,  // malloc, calloc, realloc, memalign family, free
  New = 1,     // operator new / delete
  NewArray = 2,
  // An Alloc with this function is a block a forked child had from its parent (1.2): live
  // from the start of its trace, not allocated in it. Written first, with its stack.
  Inherited = 3,
};

// Largest packed event: opcode + 4 varints of 10 bytes; a Stack event is written in parts.
// A realloc of another ring's block is two events (FreeOther, Realloc).
inline constexpr size_t kMaxPackedEventBytes = 1 + 4 * 10;

}  // namespace tidemark::format
