// How `tidemark record` marks a signal it passes on to its program, so that the tracer
// can tell it from the same signal sent to the whole process group. record passes SIGTERM
// and SIGHUP on (a harness may signal record alone), with sigqueue() and this value: its
// copy, and the pid of the original's sender. A kill of the process group (`timeout`,
// systemd, a terminal's hangup) reaches the program from the sender as well, and the
// program is to see the signal once, as it would untraced.
#pragma once

#include <csignal>
#include <cstdint>

namespace tidemark::format {

// The signals record passes on.
inline constexpr int kForwardedSignals[] = {SIGTERM, SIGHUP};

inline constexpr bool isForwardedSignal(int signal) {
  for (int forwarded : kForwardedSignals) {
    if (forwarded == signal) return true;
  }
  return false;
}

inline constexpr uint64_t kForwardedSignalMark = uint64_t{0x544d524b} << 32;  // "TMRK"

inline constexpr uint64_t forwardedSignalValue(int32_t sender) {
  return kForwardedSignalMark | static_cast<uint32_t>(sender);
}

// The original's sender (0: the kernel) of a forwarded signal's value; -1 for any other value.
inline constexpr int64_t forwardedSignalSender(uint64_t value) {
  return (value >> 32) == (kForwardedSignalMark >> 32) ? static_cast<int32_t>(value & 0xffffffff)
                                                       : -1;
}

}  // namespace tidemark::format
