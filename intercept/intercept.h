/*
 * libzerotierintercept: shared declarations.
 *
 * The library moves a program's TCP sockets onto zerotier-netcon-service. Every program socket
 * stays a real AF_UNIX stream fd (data, readiness, fork and exec are the kernel's); the hooks only
 * translate the socket-API calls into 64-byte calls on a per-process control channel. The wire
 * protocol is intercept/PROTOCOL.md.
 */
#ifndef ZT_INTERCEPT_H
#define ZT_INTERCEPT_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#define ZT_EXPORT __attribute__((visibility("default")))

/* glibc declares the socket calls with transparent unions when _GNU_SOURCE is on; a hook must
 * match the declaration or the compiler rejects it. */
#if defined(__GLIBC__) && defined(__USE_GNU)
typedef __SOCKADDR_ARG zt_sa_arg;
typedef __CONST_SOCKADDR_ARG zt_csa_arg;
#define ZT_SA(x) ((x).__sockaddr__)
#else
typedef struct sockaddr *zt_sa_arg;
typedef const struct sockaddr *zt_csa_arg;
#define ZT_SA(x) (x)
#endif

/* ---- protocol constants (PROTOCOL.md) ---- */
#define ZT_MAGIC_RPC 0x4E43545Au    /* "ZTCN" */
#define ZT_MAGIC_ATTACH 0x534E545Au /* "ZTNS" */
#define ZT_MAGIC_ACCEPT 0x414E545Au /* "ZTNA" */
#define ZT_PROTO_VERSION 1
#define ZT_MSG_SIZE 64
#define ZT_PREAMBLE_SIZE 32
#define ZT_REPLY_TIMEOUT_MS 2000
/* The smallest SO_SNDBUF the kernel gives (what any set below it reports), in bytes. */
#define ZT_SNDBUF_MIN 4608
#define ZT_PREAMBLE_TIMEOUT_MS 1000

enum zt_op {
	ZOP_HELLO = 1,
	ZOP_SOCKET = 2,
	ZOP_BIND = 3,
	ZOP_LISTEN = 4,
	ZOP_CONNECT = 5,
	ZOP_GETSOCKOPT = 6,
	ZOP_SETSOCKOPT = 7,
	ZOP_GETNAME = 8,
	ZOP_CLOSE = 9,
	ZOP_INFO = 10,
};

/* Socket states, numbered as INFO reports them. */
enum zt_state {
	ZS_NEW = 0,
	ZS_BOUND = 1,
	ZS_LISTENING = 2,
	ZS_CONNECTING = 3,
	ZS_CONNECTED = 4,
	ZS_FAILED = 5, /* a connect failed: unconnected again, but the fd is still attached */
};

#define ZF_ACCEPTED 0x01  /* made by accept: the service's end holds the name, we send no CLOSE */
#define ZF_GHOST 0x02     /* IPv6-only socket bound to ::, which the service never hears of */
#define ZF_V6ONLY 0x04    /* IPV6_V6ONLY was set */
#define ZF_REUSEADDR 0x08 /* SO_REUSEADDR was set (BIND flag bit 0) */
#define ZF_REUSEPORT 0x10 /* SO_REUSEPORT was set (BIND flag bit 1) */
#define ZF_USERBOUND 0x20 /* bind() was called: kept when a failed connect is retried */
#define ZF_ATTACHED 0x40  /* the fd is connected to <nwid>.data and cannot be attached again */
#define ZF_REPORTED 0x80  /* connect() has returned success once; the next one says EISCONN */

/* What the library knows of one program socket. */
struct zt_sock {
	dev_t dev; /* identity of the AF_UNIX socket behind the fd */
	ino_t ino;
	uint32_t sockid;
	uint32_t svc_pid; /* the service instance whose names the socket carries */
	int family;       /* AF_INET or AF_INET6, as the program sees it */
	uint8_t state;
	uint16_t flags;
	uint32_t laddr, raddr; /* IPv4, host order */
	uint16_t lport, rport;
	/* While connecting, the fd's send buffer is shrunk to the kernel's minimum so that the
	 * stuffing (PROTOCOL.md) is a few bytes, not 200 KB copied in and out per connect; this is
	 * the SO_SNDBUF value to set back once the fd shows connected (0: nothing to restore). */
	int sndbuf_restore;
};

/* ---- real.c: the next definitions of the hooked functions ---- */
int real_socket(int domain, int type, int protocol);
int real_connect(int fd, const struct sockaddr *sa, socklen_t len);
int real_bind(int fd, const struct sockaddr *sa, socklen_t len);
int real_listen(int fd, int backlog);
int real_accept(int fd, struct sockaddr *sa, socklen_t *len);
int real_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags);
int real_getsockname(int fd, struct sockaddr *sa, socklen_t *len);
int real_getpeername(int fd, struct sockaddr *sa, socklen_t *len);
int real_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int real_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int real_shutdown(int fd, int how);
int real_close(int fd);
long real_syscall(long n, long a, long b, long c, long d, long e, long f);

/* ---- log.c ---- */
void zt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void zt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs once per process per flag (flag: a static int of the caller). */
void zt_log_once(int *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- config.c ---- */
enum zt_mode { ZM_INERT = 0, ZM_BROKEN = 1, ZM_ACTIVE = 2 };
int zt_mode(void);
int zt_debug_enabled(void);
uint64_t zt_nwid(void);
/* sockaddr_un of $ZT_NC_HOME/netcon.d/<nwid>.<suffix>; 0, or -1 when the path is too long. */
int zt_endpoint(const char *suffix, struct sockaddr_un *sun, socklen_t *len);

/* ---- names.c: abstract names "\0ztnc/<svcpid>/<kind><8 hex>" ---- */
socklen_t zt_name_make(struct sockaddr_un *sun, char kind, uint32_t svc_pid, uint32_t id);
/* 1 when sun/len is such a name (kind 's' or 'c'), filling the outputs; else 0. */
int zt_name_parse(const struct sockaddr_un *sun, socklen_t len, char *kind, uint32_t *svc_pid,
		  uint32_t *id);

/* ---- rpc.c: the control channel ---- */
struct zt_reply {
	uint32_t sockid;
	uint32_t err;
	uint32_t val[3];
	uint8_t data[32];
	uint32_t svc_pid; /* the service that answered (from its HELLO) */
};
/* One call. Returns 0 when the service answered success, the service's errno when it answered an
 * error, ENETDOWN when it cannot be reached (one stderr line the first time). svc: the service
 * pid the socket's sockid belongs to (0 for SOCKET): a sockid of an earlier service instance means
 * nothing, or another program's socket, to a restarted service, so such a call fails with ENETDOWN
 * without being sent. */
int zt_call(uint32_t svc, uint16_t op, uint32_t sockid, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
	    struct zt_reply *rep);
/* The service's pid (connecting when it is not known yet); 0 with errno ENETDOWN on failure. */
uint32_t zt_service_pid(void);
/* The service instance's cookie from HELLO (valid once zt_service_pid() returned non-zero). */
uint64_t zt_service_cookie(void);
/* A private duplicate of the channel fd, to watch for POLLRDHUP; -1 (errno ENETDOWN) if none. */
int zt_channel_watch_fd(void);
void zt_rpc_atfork_child(void);

/* ---- table.c: fd -> socket cache, validated by inode ---- */
/* A new entry for the AF_UNIX socket `st` describes: everything zero but these. */
void zt_sock_init(struct zt_sock *s, const struct stat *st, uint32_t sockid, uint32_t svc_pid, int family,
		  uint8_t state);
int table_get(int fd, dev_t dev, ino_t ino, struct zt_sock *out);
int table_link(int fd, dev_t dev, ino_t ino, struct zt_sock *out);
int table_put(int fd, const struct zt_sock *s);
int table_update(int fd, const struct zt_sock *s);
int table_cas_state(int fd, const struct zt_sock *s, uint8_t from, uint8_t to);
int table_take(int fd, struct zt_sock *out, int *last);
void table_atfork_prepare(void);
void table_atfork_parent(void);
void table_atfork_child(void);

/* ---- lookup.c ---- */
/* 1 and *s when fd is one of ours; 0 when it is not (pass the call through); -1 with errno when
 * it is ours but cannot be described (service unreachable). Preserves errno unless it returns -1. */
int zt_lookup(int fd, struct zt_sock *s);
/* zt_lookup, and when the record says NEW or BOUND, a check that no other process sharing the
 * socket (fork) has made it listen or connect meanwhile: the tables are per process, the
 * socket is not. For the calls whose answer depends on that. */
int zt_lookup_fresh(int fd, struct zt_sock *s);
/* Bind fd to s<sockid> of the service svc_pid; 0 or errno. */
int zt_bind_name(int fd, uint32_t svc_pid, uint32_t sockid);
/* After the last close of a socket of ours: free its name at the service if no process has it. */
void zt_release(const struct zt_sock *s);
/* Whether a nonblocking connect has ended: returns the state (ZS_CONNECTING, ZS_CONNECTED, or
 * ZS_FAILED when it failed and SO_ERROR still waits to be read), or -1 with errno. */
int zt_connect_progress(int fd, const struct zt_sock *s);
/* SO_ERROR, read and cleared at the service and on the fd; 0 or errno (*so = the value). */
int zt_take_so_error(int fd, const struct zt_sock *s, int *so);
/* Give a connected fd its send buffer back (see sndbuf_restore); a no-op otherwise. Called by
 * zt_lookup, so every hooked call on the fd after the connect completes does it. */
void zt_sndbuf_settle(int fd, struct zt_sock *s);

/* ---- inaddr.c: program sockaddrs <-> (addr, port) ---- */
/* Parse a program's address for a socket of family fam. Returns 0 or an errno; *any6 = 1 for
 * the IPv6 wildcard ::. */
int zt_addr_in(const struct zt_sock *s, const struct sockaddr *sa, socklen_t len, int for_connect,
	       uint32_t *ip, uint16_t *port, int *any6);
/* Write an address as the kernel does (truncate, report the full length); 0 or errno. */
int zt_addr_out(int family, uint32_t ip, uint16_t port, struct sockaddr *sa, socklen_t *len);

/* ---- wait.c ---- */
/* After poll() returned EINTR in a wait the kernel would have done itself: 1 if the kernel would
 * have restarted the call (every installed handler has SA_RESTART), 0 if it would return EINTR. */
int zt_eintr_restarts(void);
/* Milliseconds of the fd's SO_RCVTIMEO or SO_SNDTIMEO (which), -1 for none. */
int zt_sock_timeout_ms(int fd, int which);
int64_t zt_now_ms(void);
/* poll(2) one fd with a deadline (-1 = none), retrying EINTR. Returns revents, 0 on timeout. */
int zt_poll_until(int fd, short events, int64_t deadline);

/* ---- hooks, callable from syscall.c ---- */
int zt_socket(int domain, int type, int protocol);
int zt_connect(int fd, const struct sockaddr *sa, socklen_t len);
int zt_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags, int plain);

#endif
