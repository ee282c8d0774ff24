/*
 * Self-test of afalg-preload.so, run with LD_PRELOAD: drives the emulated AF_ALG sockets exactly
 * as BlueZ's src/shared/crypto.c does and checks FIPS-197 (AES-128) and RFC 4493 (AES-CMAC)
 * vectors. Exit status 0 only if every vector matches.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#define SOL_ALG 279
#define ALG_SET_KEY 1
#define ALG_SET_OP 3
#define ALG_OP_ENCRYPT 1

struct sockaddr_alg_compat { uint16_t f; uint8_t type[14]; uint32_t feat, mask; uint8_t name[64]; };

static void unhex(const char *h, uint8_t *out) { for (size_t i = 0; h[2 * i]; i++) sscanf(h + 2 * i, "%2hhx", &out[i]); }

static int setup(const char *type, const char *name) {
  struct sockaddr_alg_compat s = { 0 };
  int fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  s.f = AF_ALG;
  strcpy((char *)s.type, type);
  strcpy((char *)s.name, name);
  if (bind(fd, (struct sockaddr *)&s, sizeof s) < 0) return -1;
  return fd;
}

static int op(int fd, const uint8_t key[16]) {
  if (setsockopt(fd, SOL_ALG, ALG_SET_KEY, key, 16) < 0) return -1;
  return accept4(fd, NULL, 0, SOCK_CLOEXEC);
}

static int failures = 0;

static void check(const char *what, const uint8_t *got, const char *want_hex) {
  uint8_t want[16];
  unhex(want_hex, want);
  int ok = memcmp(got, want, 16) == 0;
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  failures += !ok;
}

int main(void) {
  uint8_t key[16], in[64], out[16];
  int ecb = setup("skcipher", "ecb(aes)"), cmac = setup("hash", "cmac(aes)");
  if (ecb < 0 || cmac < 0) { perror("AF_ALG socket/bind (is the preload library loaded?)"); return 1; }

  /* FIPS-197 Appendix C.1, sent as crypto.c's alg_encrypt does (sendmsg with ALG_SET_OP). */
  unhex("000102030405060708090a0b0c0d0e0f", key);
  unhex("00112233445566778899aabbccddeeff", in);
  int fd = op(ecb, key);
  char cbuf[CMSG_SPACE(sizeof(uint32_t))] = { 0 };
  struct iovec iov = { in, 16 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_ALG; c->cmsg_type = ALG_SET_OP; c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
  uint32_t encrypt = ALG_OP_ENCRYPT;
  memcpy(CMSG_DATA(c), &encrypt, sizeof encrypt);
  if (sendmsg(fd, &msg, 0) != 16 || read(fd, out, 16) != 16) { perror("ecb"); return 1; }
  close(fd);
  check("FIPS-197 C.1 AES-128", out, "69c4e0d86a7b0430d8cdb78070b4c55a");

  /* RFC 4493 section 4, examples 1-4. */
  unhex("2b7e151628aed2a6abf7158809cf4f3c", key);
  unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", in);
  const size_t lens[4] = { 0, 16, 40, 64 };
  const char *tags[4] = { "bb1d6929e95937287fa37d129b756746", "070a16b46b4d4144f79bdd9dd04a287c",
                          "dfa66747de9ae63030ca32611497c827", "51f0bebf7e3b9d92fc49741779363cfe" };
  for (int i = 0; i < 4; i++) {
    fd = op(cmac, key);
    if (send(fd, in, lens[i], 0) != (ssize_t)lens[i] || read(fd, out, 16) != 16) { perror("cmac"); return 1; }
    close(fd);
    char name[40];
    snprintf(name, sizeof name, "RFC 4493 AES-CMAC, %zu bytes", lens[i]);
    check(name, out, tags[i]);
  }
  close(ecb);
  close(cmac);
  return failures == 0 ? 0 : 1;
}
