// Test program: fork and exec. The parent leaks 1 block of 111 bytes (parentLeak), the
// forked child 2 blocks of 222 bytes (childLeak) and exits with 5; with the argument
// "exec", the child then leaks 1 block of 333 bytes (leakBeforeExec) and execs
// "/bin/sh -c 'exit 6'" instead. The parent exits with 0 when the child's status is as
// expected, else 1.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

__attribute__((noinline)) void* parentLeak() { return malloc(111); }
__attribute__((noinline)) void* childLeak() { return malloc(222); }
__attribute__((noinline)) void* leakBeforeExec() { return malloc(333); }

int main(int argc, char** argv) {
  bool exec = argc > 1 && strcmp(argv[1], "exec") == 0;
  parentLeak();
  pid_t child = fork();
  if (child == 0) {
    childLeak();
    childLeak();
    if (exec) {
      leakBeforeExec();
      execl("/bin/sh", "sh", "-c", "exit 6", static_cast<char*>(nullptr));
      _exit(127);
    }
    exit(5);
  }
  int status = 0;
  waitpid(child, &status, 0);
  int expected = exec ? 6 : 5;
  return WIFEXITED(status) && WEXITSTATUS(status) == expected ? 0 : 1;
}
