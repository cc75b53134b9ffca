/*
 * Cache and TLB pressure for latency benchmarks: reads and writes one byte per random 64-byte
 * line of a private buffer, forever. Run at nice 19, one per core, it evicts what a sleeping
 * service had in the caches and TLB (as other tenants of a shared host do) while giving the CPU
 * up to anything of normal priority that wakes.
 *
 *   cache-pressure <MiB>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: cache-pressure <MiB 1..4096>\n");
    return 2;
  }
  char *end = NULL;
  long mib = strtol(argv[1], &end, 10);
  if (end == argv[1] || *end != '\0' || mib < 1 || mib > 4096) {
    fprintf(stderr, "cache-pressure: MiB must be a whole number 1..4096\n");
    return 2;
  }
  size_t size = (size_t)mib << 20;
  unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) {
    perror("cache-pressure: mmap");
    return 1;
  }
  memset(p, 1, size);
  /* the buffer is in memory: from here on the walker presses */
  puts("ready");
  fflush(stdout);
  uint64_t x = 0x9E3779B97F4A7C15ull; /* xorshift64 */
  size_t lines = size / 64;
  for (;;) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[(x % lines) * 64]++;
  }
}
