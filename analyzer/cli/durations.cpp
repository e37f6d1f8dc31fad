// Durations on the command line: "500ms", "10s", "5m", "1h"; a bare number is seconds.
#include <cctype>
#include <cstdlib>

#include "commands.h"

namespace tidemark::cli {

std::optional<double> parseSeconds(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() &&
         (isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  char* end = nullptr;
  std::string number = text.substr(0, digits);
  double value = std::strtod(number.c_str(), &end);
  if (*end) return std::nullopt;  // "1.2.3"
  std::string unit = text.substr(digits);
  double scale = unit == "ms"                  ? 1e-3
                 : unit == "s" || unit.empty() ? 1
                 : unit == "m"                 ? 60
                 : unit == "h"                 ? 3600
                                               : 0;
  if (scale == 0) return std::nullopt;
  return value * scale;
}

uint64_t parseDurationMs(const std::string& text) {
  auto seconds = parseSeconds(text);
  double ms = seconds ? *seconds * 1e3 : 0;
  return ms >= 1 && ms < 1e12 ? static_cast<uint64_t>(ms) : 0;
}

}  // namespace tidemark::cli
