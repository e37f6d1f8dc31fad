// Test program: blocks whose only pointers are in memory mapped from character devices.
// memcheck does not scan a device's mapping (reading one may hang, or act on the device)
// except /dev/zero's, which is plain memory; nor does tidemark. Makes DIR/zero-device, a
// node of the device /dev/zero is (char 1:5), and keeps the only pointer to a block of
// 2,222 bytes in a private mapping of it: definitely lost, though the memory is like any
// other. Keeps the only pointer to a block of 1,111 bytes in a private mapping of
// /dev/zero: reachable. Exits 0.
//   test_device_memory DIR
// Prints "no device node" (and keeps nothing) where it may not make one (not root).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// Keeps the only pointer to a new block of `bytes` in a private page of `device`.
__attribute__((noinline)) bool keepBlockIn(const std::string& device, size_t bytes) {
  int fd = open(device.c_str(), O_RDWR);
  if (fd < 0) return false;
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (page == MAP_FAILED) return false;
  *static_cast<void**>(page) = malloc(bytes);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string node = std::string(argv[1]) + "/zero-device";
  if (mknod(node.c_str(), S_IFCHR | 0600, makedev(1, 5)) != 0) {
    printf("no device node\n");
    return 0;
  }
  if (!keepBlockIn(node, 2222) || !keepBlockIn("/dev/zero", 1111)) return 3;
  printf("kept\n");
  return 0;
}
