// Why the tracer never started in a program: LD_PRELOAD reaches a program only through
// the dynamic loader, which a statically linked program does not have and which ignores
// LD_PRELOAD for a set-user-ID or set-group-ID program run by another user.
#pragma once

#include <string>

namespace tidemark::cli {

// For `tidemark record -- COMMAND ...` that wrote no trace: a sentence saying why
// (naming the program found through PATH, or a script's interpreter), or "" when nothing
// about the program explains it.
std::string whyUntraced(const std::string& command);

}  // namespace tidemark::cli
