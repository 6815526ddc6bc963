/*
 * Latency of small reads at queue depth 1, measured the same way on any NBD server: a
 * client speaking raw NBD (fixed newstyle, NBD_OPT_GO, simple replies) on a unix socket,
 * with nothing between the socket and the clock. bench/compare.ts compiles it with the
 * system's cc at bench time.
 *
 *   nbd-latency SOCKET COUNT [SIZE]
 *
 * Reads COUNT blocks of SIZE bytes (default 4096) at random aligned offsets, one at a
 * time, and prints the elapsed nanoseconds on stdout. Exits 1 on any error.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NBDMAGIC 0x4e42444d41474943ULL
#define IHAVEOPT 0x49484156454f5054ULL
#define OPT_REPLY_MAGIC 0x3e889045565a9ULL
#define REQUEST_MAGIC 0x25609513U
#define SIMPLE_REPLY_MAGIC 0x67446698U
#define FLAG_FIXED_NEWSTYLE 1
#define FLAG_NO_ZEROES 2
#define OPT_GO 7
#define REP_ACK 1
#define REP_INFO 3
#define INFO_EXPORT 0
#define CMD_READ 0
#define CMD_DISC 2

static void die(const char *what) {
  fprintf(stderr, "nbd-latency: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
  exit(1);
}

static void read_all(int fd, void *buf, size_t n) {
  for (size_t done = 0; done < n;) {
    ssize_t r = read(fd, (char *)buf + done, n - done);
    if (r <= 0) {
      if (r == 0) errno = 0;
      die("read");
    }
    done += (size_t)r;
  }
}

static void write_all(int fd, const void *buf, size_t n) {
  for (size_t done = 0; done < n;) {
    ssize_t r = write(fd, (const char *)buf + done, n - done);
    if (r <= 0) die("write");
    done += (size_t)r;
  }
}

/* Fixed newstyle handshake with NBD_OPT_GO on the default export; returns its size. */
static uint64_t handshake(int fd) {
  unsigned char greeting[18];
  read_all(fd, greeting, sizeof greeting);
  uint64_t magic, opt;
  memcpy(&magic, greeting, 8);
  memcpy(&opt, greeting + 8, 8);
  errno = 0;
  if (be64toh(magic) != NBDMAGIC || be64toh(opt) != IHAVEOPT) die("greeting");
  uint32_t flags = htobe32(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
  write_all(fd, &flags, 4);

  /* GO: empty export name, no information requests. */
  unsigned char go[16 + 6] = {0};
  uint64_t m = htobe64(IHAVEOPT);
  uint32_t o = htobe32(OPT_GO), len = htobe32(6);
  memcpy(go, &m, 8);
  memcpy(go + 8, &o, 4);
  memcpy(go + 12, &len, 4);
  write_all(fd, go, sizeof go);

  uint64_t size = 0;
  for (;;) {
    unsigned char header[20];
    read_all(fd, header, sizeof header);
    uint32_t type, length;
    memcpy(&magic, header, 8);
    memcpy(&type, header + 12, 4);
    memcpy(&length, header + 16, 4);
    type = be32toh(type);
    length = be32toh(length);
    errno = 0;
    if (be64toh(magic) != OPT_REPLY_MAGIC || length > 65536) die("option reply");
    unsigned char body[65536];
    read_all(fd, body, length);
    if (type == REP_ACK) return size;
    if (type != REP_INFO) die("NBD_OPT_GO refused");
    uint16_t info;
    memcpy(&info, body, 2);
    if (be16toh(info) == INFO_EXPORT && length >= 10) {
      memcpy(&size, body + 2, 8);
      size = be64toh(size);
    }
  }
}

static void request(int fd, uint16_t type, uint64_t cookie, uint64_t offset, uint32_t length) {
  unsigned char req[28];
  uint32_t magic = htobe32(REQUEST_MAGIC);
  uint16_t flags = 0, t = htobe16(type);
  uint64_t c = htobe64(cookie), off = htobe64(offset);
  uint32_t len = htobe32(length);
  memcpy(req, &magic, 4);
  memcpy(req + 4, &flags, 2);
  memcpy(req + 6, &t, 2);
  memcpy(req + 8, &c, 8);
  memcpy(req + 16, &off, 8);
  memcpy(req + 24, &len, 4);
  write_all(fd, req, sizeof req);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: nbd-latency SOCKET COUNT [SIZE]\n");
    return 2;
  }
  long count = atol(argv[2]);
  uint32_t size = argc > 3 ? (uint32_t)atol(argv[3]) : 4096;
  char *buf = malloc(size);
  if (!buf || count <= 0 || size == 0) die("arguments");

  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (fd < 0 || strlen(argv[1]) >= sizeof addr.sun_path) die("socket");
  strcpy(addr.sun_path, argv[1]);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  uint64_t disk = handshake(fd);
  errno = 0;
  if (disk < size) die("export smaller than one read");
  uint64_t blocks = disk / size;

  srandom(1);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < count; i++) {
    uint64_t block = (((uint64_t)random() << 31) | (uint64_t)random()) % blocks;
    request(fd, CMD_READ, (uint64_t)i, block * size, size);
    unsigned char reply[16];
    read_all(fd, reply, sizeof reply);
    uint32_t magic, error;
    uint64_t cookie;
    memcpy(&magic, reply, 4);
    memcpy(&error, reply + 4, 4);
    memcpy(&cookie, reply + 8, 8);
    errno = 0;
    if (be32toh(magic) != SIMPLE_REPLY_MAGIC || error != 0 || be64toh(cookie) != (uint64_t)i) {
      die("read reply");
    }
    read_all(fd, buf, size);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  request(fd, CMD_DISC, (uint64_t)count, 0, 0);
  close(fd);
  printf("%lld\n", (long long)(end.tv_sec - start.tv_sec) * 1000000000LL +
                       (end.tv_nsec - start.tv_nsec));
  return 0;
}
