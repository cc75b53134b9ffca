/*
 * syscall(): some programs make socket calls through it (libuv called accept4 this way), which
 * would bypass the hooks. Those numbers go to the hooks; every other number is forwarded with six
 * argument words, which is what the real syscall() passes to the kernel anyway (reading more
 * variadic words than the caller passed is how every syscall() wrapper works on Linux ABIs: the
 * extra ones are ignored by the kernel).
 */
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "intercept.h"

static int zt_socket_number(long n)
{
	return n == SYS_socket || n == SYS_connect || n == SYS_accept || n == SYS_accept4;
}

ZT_EXPORT long syscall(long number, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (zt_socket_number(number) ? zt_mode() : ZM_INERT) {
	case ZM_ACTIVE:
		break;
	case ZM_BROKEN: /* only socket() differs: AF_INET/AF_INET6 fail with EACCES */
		if (number != SYS_socket)
			return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
		break;
	default:
		return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	switch (number) {
	case SYS_socket:
		return zt_socket((int)a[0], (int)a[1], (int)a[2]);
	case SYS_connect:
		return zt_connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
	case SYS_accept:
		return zt_accept4((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2], 0, 1);
	case SYS_accept4:
		return zt_accept4((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2], (int)a[3], 0);
	}
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
