// Why the tracer never started in a program (see untraced_program.h).
#include "untraced_program.h"

#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tidemark::cli {
namespace {

// The file execvp would run for `command`.
std::string findProgram(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* path = getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

// Whether `file` is an ELF executable without a program interpreter (the dynamic loader).
bool staticallyLinked(const std::string& file) {
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  elf_version(EV_CURRENT);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  bool isStatic = false;
  size_t headers = 0;
  if (elf && elf_kind(elf) == ELF_K_ELF && elf_getphdrnum(elf, &headers) == 0) {
    isStatic = true;
    for (size_t i = 0; i < headers; ++i) {
      GElf_Phdr header;
      if (gelf_getphdr(elf, static_cast<int>(i), &header) && header.p_type == PT_INTERP) {
        isStatic = false;
      }
    }
  }
  if (elf) elf_end(elf);
  close(fd);
  return isStatic;
}

// The interpreter of a "#!" script, or "".
std::string scriptInterpreter(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line) || line.rfind("#!", 0) != 0) return {};
  std::istringstream words(line.substr(2));
  std::string interpreter;
  words >> interpreter;
  return interpreter;
}

// A script's interpreter is looked at, not an interpreter's own "#!" line: the kernel
// runs only one.
std::string explain(const std::string& command, bool mayBeScript) {
  std::string program = findProgram(command);
  if (program.empty()) return {};
  if (std::string interpreter = scriptInterpreter(program); !interpreter.empty()) {
    std::string why = mayBeScript ? explain(interpreter, false) : std::string();
    return why.empty() ? why : why + " (the interpreter of " + program + ")";
  }
  if (staticallyLinked(program)) {
    return program +
           " is statically linked: LD_PRELOAD reaches only programs that the "
           "dynamic loader starts";
  }
  struct stat st;
  if (stat(program.c_str(), &st) == 0 && (((st.st_mode & S_ISUID) && st.st_uid != getuid()) ||
                                          ((st.st_mode & S_ISGID) && st.st_gid != getgid()))) {
    return program +
           " is set-user-ID or set-group-ID: the dynamic loader ignores LD_PRELOAD "
           "for it";
  }
  return {};
}

}  // namespace

std::string whyUntraced(const std::string& command) { return explain(command, true); }

}  // namespace tidemark::cli
