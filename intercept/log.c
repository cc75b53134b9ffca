/*
 * One-line messages on stderr, prefixed "zerotier-intercept:". Each is formatted into one buffer
 * and written with a single write(2) so lines from several threads or processes do not interleave.
 * Logging never changes errno (callers log on error paths before returning the error).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "intercept.h"

static void vlog(const char *fmt, va_list ap)
{
	int saved = errno;
	char buf[512];
	static const char prefix[] = "zerotier-intercept: ";
	size_t n = sizeof prefix - 1;
	memcpy(buf, prefix, n);
	int w = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	if (w < 0)
		w = 0;
	n += (size_t)w < sizeof buf - n - 1 ? (size_t)w : sizeof buf - n - 2;
	buf[n++] = '\n';
	ssize_t r;
	do
		r = write(2, buf, n);
	while (r < 0 && errno == EINTR);
	errno = saved;
}

void zt_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void zt_debug(const char *fmt, ...)
{
	if (!zt_debug_enabled())
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void zt_log_once(int *flag, const char *fmt, ...)
{
	if (__atomic_exchange_n(flag, 1, __ATOMIC_RELAXED))
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
