/*
 * LD_PRELOAD library that emulates the Linux AF_ALG sockets BlueZ's btvirt opens, for kernels
 * without AF_ALG (this CI machine's). Only what BlueZ's src/shared/crypto.c uses is emulated:
 *
 *   socket(AF_ALG, SOCK_SEQPACKET, 0)      -> a real fd (on /dev/null) tracked here
 *   bind({ "skcipher", "ecb(aes)" })       -> AES-128 ECB
 *   bind({ "hash", "cmac(aes)" })          -> AES-CMAC (RFC 4493)
 *   setsockopt(SOL_ALG, ALG_SET_KEY, 16 B) -> the key
 *   accept / accept4                       -> an operation fd that inherits type and key
 *   send / sendmsg / write                 -> input (sendmsg may carry ALG_SET_OP; MSG_MORE appends)
 *   read / recv                            -> ECB: the encrypted input; CMAC: the 16-byte tag
 *   close                                  -> forgets the fd
 *
 * Every other fd goes straight to libc. Checked by afalg-selftest.c against FIPS-197 and RFC 4493.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef SOL_ALG
#define SOL_ALG 279
#endif
#define ALG_SET_KEY 1
#define ALG_SET_OP 3
#define ALG_OP_ENCRYPT 1

struct sockaddr_alg_compat {
  uint16_t salg_family;
  uint8_t salg_type[14];
  uint32_t salg_feat;
  uint32_t salg_mask;
  uint8_t salg_name[64];
};

enum kind { K_NONE = 0, K_UNBOUND, K_ECB, K_CMAC };

#define MAX_FD 4096
#define MAX_INPUT 4096

struct alg {
  enum kind kind;
  int is_op;
  int have_key;
  int encrypt;
  uint8_t key[16];
  size_t len;
  uint8_t input[MAX_INPUT];
};

static struct alg *algs[MAX_FD];

/* ---- AES-128 (FIPS-197), encryption only: BlueZ never decrypts. ---- */

static const uint8_t sbox[256] = {
  0x63,0x7c,0x77,0x7b,0xf2,0x6b,0x6f,0xc5,0x30,0x01,0x67,0x2b,0xfe,0xd7,0xab,0x76,
  0xca,0x82,0xc9,0x7d,0xfa,0x59,0x47,0xf0,0xad,0xd4,0xa2,0xaf,0x9c,0xa4,0x72,0xc0,
  0xb7,0xfd,0x93,0x26,0x36,0x3f,0xf7,0xcc,0x34,0xa5,0xe5,0xf1,0x71,0xd8,0x31,0x15,
  0x04,0xc7,0x23,0xc3,0x18,0x96,0x05,0x9a,0x07,0x12,0x80,0xe2,0xeb,0x27,0xb2,0x75,
  0x09,0x83,0x2c,0x1a,0x1b,0x6e,0x5a,0xa0,0x52,0x3b,0xd6,0xb3,0x29,0xe3,0x2f,0x84,
  0x53,0xd1,0x00,0xed,0x20,0xfc,0xb1,0x5b,0x6a,0xcb,0xbe,0x39,0x4a,0x4c,0x58,0xcf,
  0xd0,0xef,0xaa,0xfb,0x43,0x4d,0x33,0x85,0x45,0xf9,0x02,0x7f,0x50,0x3c,0x9f,0xa8,
  0x51,0xa3,0x40,0x8f,0x92,0x9d,0x38,0xf5,0xbc,0xb6,0xda,0x21,0x10,0xff,0xf3,0xd2,
  0xcd,0x0c,0x13,0xec,0x5f,0x97,0x44,0x17,0xc4,0xa7,0x7e,0x3d,0x64,0x5d,0x19,0x73,
  0x60,0x81,0x4f,0xdc,0x22,0x2a,0x90,0x88,0x46,0xee,0xb8,0x14,0xde,0x5e,0x0b,0xdb,
  0xe0,0x32,0x3a,0x0a,0x49,0x06,0x24,0x5c,0xc2,0xd3,0xac,0x62,0x91,0x95,0xe4,0x79,
  0xe7,0xc8,0x37,0x6d,0x8d,0xd5,0x4e,0xa9,0x6c,0x56,0xf4,0xea,0x65,0x7a,0xae,0x08,
  0xba,0x78,0x25,0x2e,0x1c,0xa6,0xb4,0xc6,0xe8,0xdd,0x74,0x1f,0x4b,0xbd,0x8b,0x8a,
  0x70,0x3e,0xb5,0x66,0x48,0x03,0xf6,0x0e,0x61,0x35,0x57,0xb9,0x86,0xc1,0x1d,0x9e,
  0xe1,0xf8,0x98,0x11,0x69,0xd9,0x8e,0x94,0x9b,0x1e,0x87,0xe9,0xce,0x55,0x28,0xdf,
  0x8c,0xa1,0x89,0x0d,0xbf,0xe6,0x42,0x68,0x41,0x99,0x2d,0x0f,0xb0,0x54,0xbb,0x16,
};

static uint8_t xtime(uint8_t x) { return (uint8_t)((x << 1) ^ ((x & 0x80) ? 0x1b : 0)); }

/** AES-128 encryption of one block. */
void afalg_aes128_encrypt(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]) {
  uint8_t rk[176], s[16], t[16];
  uint8_t rcon = 1;
  memcpy(rk, key, 16);
  for (int i = 16; i < 176; i += 4) {
    uint8_t w[4] = { rk[i - 4], rk[i - 3], rk[i - 2], rk[i - 1] };
    if (i % 16 == 0) {
      uint8_t w0 = w[0];
      w[0] = (uint8_t)(sbox[w[1]] ^ rcon); w[1] = sbox[w[2]]; w[2] = sbox[w[3]]; w[3] = sbox[w0];
      rcon = xtime(rcon);
    }
    for (int j = 0; j < 4; j++) rk[i + j] = (uint8_t)(rk[i - 16 + j] ^ w[j]);
  }
  for (int i = 0; i < 16; i++) s[i] = (uint8_t)(in[i] ^ rk[i]);
  for (int round = 1; round <= 10; round++) {
    /* SubBytes + ShiftRows (state is column-major: s[4*c + r]). */
    for (int c = 0; c < 4; c++)
      for (int r = 0; r < 4; r++) t[4 * c + r] = sbox[s[4 * ((c + r) % 4) + r]];
    if (round < 10) {
      for (int c = 0; c < 4; c++) {
        uint8_t *a = &t[4 * c];
        uint8_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], all = (uint8_t)(a0 ^ a1 ^ a2 ^ a3);
        a[0] ^= (uint8_t)(all ^ xtime((uint8_t)(a0 ^ a1)));
        a[1] ^= (uint8_t)(all ^ xtime((uint8_t)(a1 ^ a2)));
        a[2] ^= (uint8_t)(all ^ xtime((uint8_t)(a2 ^ a3)));
        a[3] ^= (uint8_t)(all ^ xtime((uint8_t)(a3 ^ a0)));
      }
    }
    for (int i = 0; i < 16; i++) s[i] = (uint8_t)(t[i] ^ rk[16 * round + i]);
  }
  memcpy(out, s, 16);
}

static void shift_left(const uint8_t in[16], uint8_t out[16]) {
  uint8_t carry = 0;
  for (int i = 15; i >= 0; i--) {
    out[i] = (uint8_t)((in[i] << 1) | carry);
    carry = (uint8_t)(in[i] >> 7);
  }
  if (in[0] & 0x80) out[15] ^= 0x87;
}

/** AES-CMAC (RFC 4493) of msg. */
void afalg_aes_cmac(const uint8_t key[16], const uint8_t *msg, size_t len, uint8_t tag[16]) {
  uint8_t zero[16] = { 0 }, l[16], k1[16], k2[16], x[16] = { 0 }, last[16];
  afalg_aes128_encrypt(key, zero, l);
  shift_left(l, k1);
  shift_left(k1, k2);
  size_t n = (len + 15) / 16;
  int complete = len > 0 && len % 16 == 0;
  if (n == 0) n = 1;
  for (size_t b = 0; b + 1 < n; b++) {
    for (int i = 0; i < 16; i++) x[i] ^= msg[16 * b + i];
    afalg_aes128_encrypt(key, x, x);
  }
  size_t rest = len - 16 * (n - 1);
  memset(last, 0, 16);
  memcpy(last, msg + 16 * (n - 1), rest);
  if (complete) {
    for (int i = 0; i < 16; i++) last[i] ^= k1[i];
  } else {
    last[rest] = 0x80;
    for (int i = 0; i < 16; i++) last[i] ^= k2[i];
  }
  for (int i = 0; i < 16; i++) x[i] ^= last[i];
  afalg_aes128_encrypt(key, x, tag);
}

/* ---- libc interposition. ---- */

#define REAL(name) static __typeof__(&name) real_##name; if (!real_##name) real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static struct alg *tracked(int fd) { return (fd >= 0 && fd < MAX_FD) ? algs[fd] : NULL; }

static int track(int fd, const struct alg *from) {
  if (fd < 0) return fd;
  if (fd >= MAX_FD) { close(fd); errno = EMFILE; return -1; }
  struct alg *a = calloc(1, sizeof *a);
  if (!a) { close(fd); errno = ENOMEM; return -1; }
  if (from) { a->kind = from->kind; a->have_key = from->have_key; memcpy(a->key, from->key, 16); }
  else a->kind = K_UNBOUND;
  a->is_op = from != NULL;
  a->encrypt = 1;
  algs[fd] = a;
  return fd;
}

static int new_fd(void) {
  REAL(open);
  return real_open("/dev/null", O_RDWR | O_CLOEXEC);
}

int socket(int domain, int type, int protocol) {
  REAL(socket);
  if (domain != AF_ALG) return real_socket(domain, type, protocol);
  return track(new_fd(), NULL);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  REAL(bind);
  struct alg *a = tracked(fd);
  if (!a) return real_bind(fd, addr, len);
  const struct sockaddr_alg_compat *s = (const struct sockaddr_alg_compat *)addr;
  if (len < sizeof *s) { errno = EINVAL; return -1; }
  if (!strcmp((const char *)s->salg_type, "skcipher") && !strcmp((const char *)s->salg_name, "ecb(aes)")) a->kind = K_ECB;
  else if (!strcmp((const char *)s->salg_type, "hash") && !strcmp((const char *)s->salg_name, "cmac(aes)")) a->kind = K_CMAC;
  else { errno = ENOENT; return -1; }
  return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  REAL(setsockopt);
  struct alg *a = tracked(fd);
  if (!a) return real_setsockopt(fd, level, name, val, len);
  if (level != SOL_ALG || name != ALG_SET_KEY || len != 16) { errno = EINVAL; return -1; }
  memcpy(a->key, val, 16);
  a->have_key = 1;
  return 0;
}

static int do_accept(int fd) {
  struct alg *a = tracked(fd);
  if (a->kind == K_UNBOUND || !a->have_key) { errno = EINVAL; return -1; }
  return track(new_fd(), a);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  REAL(accept);
  if (!tracked(fd)) return real_accept(fd, addr, len);
  return do_accept(fd);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  REAL(accept4);
  if (!tracked(fd)) return real_accept4(fd, addr, len, flags);
  return do_accept(fd);
}

/** Appends input; a write without MSG_MORE after a completed read starts a new message. */
static ssize_t take(struct alg *a, const void *buf, size_t len) {
  if (!a->is_op) { errno = EINVAL; return -1; }
  if (a->len + len > MAX_INPUT) { errno = EMSGSIZE; return -1; }
  memcpy(a->input + a->len, buf, len);
  a->len += len;
  return (ssize_t)len;
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
  REAL(send);
  struct alg *a = tracked(fd);
  if (!a) return real_send(fd, buf, len, flags);
  return take(a, buf, len);
}

ssize_t write(int fd, const void *buf, size_t len) {
  REAL(write);
  struct alg *a = tracked(fd);
  if (!a) return real_write(fd, buf, len);
  return take(a, buf, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  REAL(sendmsg);
  struct alg *a = tracked(fd);
  if (!a) return real_sendmsg(fd, msg, flags);
  for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
    if (c->cmsg_level == SOL_ALG && c->cmsg_type == ALG_SET_OP) {
      uint32_t op;
      memcpy(&op, CMSG_DATA(c), sizeof op);
      a->encrypt = op == ALG_OP_ENCRYPT;
    }
  }
  ssize_t total = 0;
  for (size_t i = 0; i < msg->msg_iovlen; i++) {
    if (take(a, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len) < 0) return -1;
    total += (ssize_t)msg->msg_iov[i].iov_len;
  }
  return total;
}

static ssize_t produce(struct alg *a, void *buf, size_t len) {
  if (!a->is_op) { errno = EINVAL; return -1; }
  if (a->kind == K_CMAC) {
    uint8_t tag[16];
    afalg_aes_cmac(a->key, a->input, a->len, tag);
    a->len = 0;
    size_t n = len < 16 ? len : 16;
    memcpy(buf, tag, n);
    return (ssize_t)n;
  }
  if (!a->encrypt || a->len % 16 != 0) { a->len = 0; errno = EINVAL; return -1; }
  size_t n = len < a->len ? len - len % 16 : a->len;
  for (size_t i = 0; i < n; i += 16) afalg_aes128_encrypt(a->key, a->input + i, (uint8_t *)buf + i);
  memmove(a->input, a->input + n, a->len - n);
  a->len -= n;
  return (ssize_t)n;
}

ssize_t read(int fd, void *buf, size_t len) {
  REAL(read);
  struct alg *a = tracked(fd);
  if (!a) return real_read(fd, buf, len);
  return produce(a, buf, len);
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
  REAL(recv);
  struct alg *a = tracked(fd);
  if (!a) return real_recv(fd, buf, len, flags);
  return produce(a, buf, len);
}

int close(int fd) {
  REAL(close);
  struct alg *a = tracked(fd);
  if (a) { algs[fd] = NULL; free(a); }
  return real_close(fd);
}
