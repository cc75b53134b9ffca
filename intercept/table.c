/*
 * fd -> socket cache. Each fd slot points to one record per socket (shared, refcounted, when the
 * program dup()s an fd), so a state change made through one fd is seen through the others.
 * Every lookup names the (st_dev, st_ino) the caller just got from fstat(fd): a slot whose socket
 * is not that one is stale (the fd was closed by close_range, replaced by dup2, or inherited by
 * exec-free paths we did not see) and is dropped, so a stale record never misidentifies an fd.
 * The lock is only ever held for memory operations, never across a system call that can block.
 * fds below 4M are cached (the kernel's default nr_open is 1M); above, every call asks by name.
 *
 * close() and the socket calls are async-signal-safe, so a signal handler may call a hook while
 * its thread is inside this file holding the lock. A per-thread flag detects that: the nested
 * call then sees an empty table (a miss is always safe: the fd is recognised by name, or its
 * CLOSE is left to the service's sweep) instead of deadlocking or seeing a half-made update.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "intercept.h"

#define PAGE_BITS 10
#define PAGE_SLOTS (1u << PAGE_BITS)
#define MAX_PAGES 4096u

struct rec {
	unsigned refs;
	struct zt_sock s;
};

static struct rec **pages[MAX_PAGES];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static __thread int inside;          /* this thread is between enter() and leave() */
static __thread int locked_for_fork; /* this thread's prepare handler took the lock */

static int enter(void)
{
	if (inside)
		return 0;
	inside = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	pthread_mutex_lock(&mu);
	return 1;
}

static void leave(void)
{
	pthread_mutex_unlock(&mu);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	inside = 0;
}

static struct rec **slot_at(int fd, int create)
{
	if (fd < 0 || (unsigned)fd >= MAX_PAGES * PAGE_SLOTS)
		return NULL;
	unsigned p = (unsigned)fd >> PAGE_BITS;
	if (!pages[p]) {
		if (!create)
			return NULL;
		pages[p] = calloc(PAGE_SLOTS, sizeof *pages[p]);
		if (!pages[p])
			return NULL;
	}
	return &pages[p][(unsigned)fd & (PAGE_SLOTS - 1)];
}

static void unref(struct rec **slot)
{
	struct rec *r = *slot;
	*slot = NULL;
	if (r && --r->refs == 0)
		free(r);
}

/* The slot's record when it is the socket (dev, ino); a stale record is dropped. */
static struct rec *valid_at(int fd, dev_t dev, ino_t ino)
{
	struct rec **slot = slot_at(fd, 0);
	if (!slot || !*slot)
		return NULL;
	if ((*slot)->s.dev != dev || (*slot)->s.ino != ino) {
		unref(slot);
		return NULL;
	}
	return *slot;
}

int table_get(int fd, dev_t dev, ino_t ino, struct zt_sock *out)
{
	if (!enter())
		return 0;
	struct rec *r = valid_at(fd, dev, ino);
	if (r)
		*out = r->s;
	leave();
	return r != NULL;
}

/* A dup of a known socket: share the record another fd has for the same inode. */
int table_link(int fd, dev_t dev, ino_t ino, struct zt_sock *out)
{
	int found = 0;
	if (!enter())
		return 0;
	struct rec **slot = slot_at(fd, 1);
	for (unsigned p = 0; slot && p < MAX_PAGES && !found; p++) {
		if (!pages[p])
			continue;
		for (unsigned i = 0; i < PAGE_SLOTS; i++) {
			struct rec *r = pages[p][i];
			if (r && r->s.dev == dev && r->s.ino == ino) {
				r->refs++; /* before unref: the slot may hold this very record */
				unref(slot);
				*slot = r;
				*out = r->s;
				found = 1;
				break;
			}
		}
	}
	leave();
	return found;
}

void zt_sock_init(struct zt_sock *s, const struct stat *st, uint32_t sockid, uint32_t svc_pid, int family,
		  uint8_t state)
{
	memset(s, 0, sizeof *s);
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->sockid = sockid;
	s->svc_pid = svc_pid;
	s->family = family;
	s->state = state;
}

int table_put(int fd, const struct zt_sock *s)
{
	struct rec *r = malloc(sizeof *r);
	if (!r)
		return -1;
	r->refs = 1;
	r->s = *s;
	if (!enter()) {
		free(r);
		return -1;
	}
	struct rec **slot = slot_at(fd, 1);
	if (slot) {
		unref(slot);
		*slot = r;
	}
	leave();
	if (!slot)
		free(r);
	return slot ? 0 : -1;
}

int table_update(int fd, const struct zt_sock *s)
{
	if (!enter())
		return -1;
	struct rec *r = valid_at(fd, s->dev, s->ino);
	if (r)
		r->s = *s;
	leave();
	return r ? 0 : -1;
}

/* Moves the socket from state `from` to `to` if it is still in `from` (two threads calling
 * connect at once: one wins, the other sees EALREADY). A socket we cannot cache always wins. */
int table_cas_state(int fd, const struct zt_sock *s, uint8_t from, uint8_t to)
{
	if (!enter())
		return 1;
	struct rec *r = valid_at(fd, s->dev, s->ino);
	int ok = !r || r->s.state == from;
	if (r && ok)
		r->s.state = to;
	leave();
	return ok;
}

/* Removes fd's slot (close). *last = 1 when no other fd of this process has the socket. */
int table_take(int fd, struct zt_sock *out, int *last)
{
	if (!enter())
		return 0;
	struct rec **slot = slot_at(fd, 0);
	int had = slot && *slot;
	if (had) {
		*out = (*slot)->s;
		*last = (*slot)->refs == 1;
		unref(slot);
	}
	leave();
	return had;
}

/* fork() from a signal handler that interrupted this thread inside the table must not wait for
 * itself: then the lock is not taken, and the child re-makes it all the same. */
void table_atfork_prepare(void)
{
	locked_for_fork = enter();
}

void table_atfork_parent(void)
{
	if (locked_for_fork)
		leave();
	locked_for_fork = 0;
}

void table_atfork_child(void)
{
	pthread_mutex_init(&mu, NULL);
	if (locked_for_fork)
		inside = 0;
	locked_for_fork = 0;
}
