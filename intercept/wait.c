/*
 * Waiting. Where the library waits in place of the kernel (a blocking connect or accept), it
 * keeps the kernel's rules: SO_SNDTIMEO bounds a connect and SO_RCVTIMEO an accept, and a signal
 * interrupts the wait exactly when the kernel would have returned EINTR, i.e. when a handler ran
 * that was installed without SA_RESTART. poll() itself always fails with EINTR, so we look at the
 * installed handlers: if all of them have SA_RESTART the kernel would have restarted the call.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "intercept.h"

int zt_eintr_restarts(void)
{
	int saved = errno;
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) != 0)
			continue; /* glibc's reserved signals and the like */
		if (!(sa.sa_flags & SA_SIGINFO) &&
		    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;
		if (!(sa.sa_flags & SA_RESTART)) {
			errno = saved;
			return 0;
		}
	}
	errno = saved;
	return 1;
}

int zt_sock_timeout_ms(int fd, int which)
{
	struct timeval tv = {0, 0};
	socklen_t len = sizeof tv;
	int saved = errno;
	int r = real_getsockopt(fd, SOL_SOCKET, which, &tv, &len);
	errno = saved;
	if (r != 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
		return -1;
	int64_t ms = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int64_t zt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int zt_poll_until(int fd, short events, int64_t deadline)
{
	for (;;) {
		int timeout = -1;
		if (deadline >= 0) {
			int64_t left = deadline - zt_now_ms();
			timeout = left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
		}
		struct pollfd p = {.fd = fd, .events = events, .revents = 0};
		int r = poll(&p, 1, timeout);
		if (r > 0)
			return p.revents;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return POLLERR;
	}
}
