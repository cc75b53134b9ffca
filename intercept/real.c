/*
 * The next definition (libc's) of every function the library hooks, found with dlsym(RTLD_NEXT)
 * on first use. Lazy, so a hook called by another library's constructor before ours works; a
 * race between two threads resolving at once is harmless (both store the same pointer).
 * Internal code must always call these, never the hooked names (which would recurse).
 */
#include <dlfcn.h>
#include <errno.h>

#include "intercept.h"

static void *resolve(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (p)
		return p;
	int saved = errno; /* dlsym may touch errno; a hook's errno must be the call's own */
	p = dlsym(RTLD_NEXT, name);
	errno = saved;
	if (!p) {
		zt_log("cannot find the real %s(): %s", name, dlerror());
		return NULL;
	}
	__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return p;
}

/* Defines real_<name>(...) calling the resolved pointer, or failing with ENOSYS. */
#define REAL(ret, name, params, args)                                   \
	ret real_##name params                                              \
	{                                                                   \
		static void *slot;                                              \
		ret(*fn) params = (ret(*) params)resolve(&slot, #name);         \
		if (!fn) {                                                      \
			errno = ENOSYS;                                             \
			return -1;                                                  \
		}                                                               \
		return fn args;                                                 \
	}

REAL(int, socket, (int d, int t, int p), (d, t, p))
REAL(int, connect, (int fd, const struct sockaddr *sa, socklen_t l), (fd, sa, l))
REAL(int, bind, (int fd, const struct sockaddr *sa, socklen_t l), (fd, sa, l))
REAL(int, listen, (int fd, int b), (fd, b))
REAL(int, accept, (int fd, struct sockaddr *sa, socklen_t *l), (fd, sa, l))
REAL(int, accept4, (int fd, struct sockaddr *sa, socklen_t *l, int f), (fd, sa, l, f))
REAL(int, getsockname, (int fd, struct sockaddr *sa, socklen_t *l), (fd, sa, l))
REAL(int, getpeername, (int fd, struct sockaddr *sa, socklen_t *l), (fd, sa, l))
REAL(int, getsockopt, (int fd, int lv, int n, void *v, socklen_t *l), (fd, lv, n, v, l))
REAL(int, setsockopt, (int fd, int lv, int n, const void *v, socklen_t l), (fd, lv, n, v, l))
REAL(int, shutdown, (int fd, int h), (fd, h))
REAL(int, close, (int fd), (fd))

long real_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	static void *slot;
	long (*fn)(long, ...) = (long (*)(long, ...))resolve(&slot, "syscall");
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	return fn(n, a, b, c, d, e, f);
}
