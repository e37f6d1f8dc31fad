// Test program: fork and exec. The parent leaks 1 block of 111 bytes (parentLeak) and
// keeps a 16-byte holder (parentHolder) in a global; the forked child, which has both,
// leaks 2 blocks of 222 bytes (childLeak), puts a 48-byte block (keptByHolder) in the
// holder — reachable only through a block it inherited — and exits with 5; with the
// argument "exec", the child then leaks 1 block of 333 bytes (leakBeforeExec) and execs
// "/bin/sh -c 'exit 6'" instead; with "exec-missing", it leaks that block, tries to exec
// a program that does not exist, leaks 1 block of 444 bytes (leakAfterFailedExec) and
// exits with 7. The parent exits with 0 when the child's status is as expected, else 1.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

__attribute__((noinline)) void* parentLeak() { return calloc(1, 111); }
__attribute__((noinline)) void** parentHolder() { return static_cast<void**>(calloc(2, 8)); }
__attribute__((noinline)) void* keptByHolder() { return calloc(1, 48); }
void** holder;  // global: the holder is reachable in the parent and in the child
__attribute__((noinline)) void* childLeak() { return malloc(222); }
__attribute__((noinline)) void* leakBeforeExec() { return malloc(333); }
__attribute__((noinline)) void* leakAfterFailedExec() { return malloc(444); }

int main(int argc, char** argv) {
  bool exec = argc > 1 && strcmp(argv[1], "exec") == 0;
  bool execMissing = argc > 1 && strcmp(argv[1], "exec-missing") == 0;
  parentLeak();
  holder = parentHolder();
  pid_t child = fork();
  if (child == 0) {
    childLeak();
    childLeak();
    holder[1] = keptByHolder();
    if (exec) {
      leakBeforeExec();
      execl("/bin/sh", "sh", "-c", "exit 6", static_cast<char*>(nullptr));
      _exit(127);
    }
    if (execMissing) {
      leakBeforeExec();
      execl("/nonexistent/tidemark-test", "missing", static_cast<char*>(nullptr));
      leakAfterFailedExec();
      exit(7);
    }
    exit(5);
  }
  int status = 0;
  waitpid(child, &status, 0);
  int expected = exec ? 6 : execMissing ? 7 : 5;
  return WIFEXITED(status) && WEXITSTATUS(status) == expected ? 0 : 1;
}
