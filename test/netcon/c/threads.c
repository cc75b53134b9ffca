/* Threads: many threads connect, talk and close at once while one blocks in accept(); a fork
 * in the middle of it all gives a child whose own calls work (the child never uses, or waits
 * on, the parent's control channel or locks). */
#include <pthread.h>
#include <sys/wait.h>

#include "ztest.h"

#define THREADS 8
#define ROUNDS 25

static uint16_t self_port;
static int listener;
static int thread_errors[THREADS];

static void *client(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int to_self = (i + id) % 2;
		int fd = to_self ? tcp_connect(SELF_IP, self_port) : tcp_connect(PEER_IP, PORT_ECHO);
		if (fd < 0) {
			fprintf(stderr, "thread %d round %d: connect: %s\n", id, i, strerror(errno));
			thread_errors[id]++;
			continue;
		}
		char msg[32], buf[32];
		int n = snprintf(msg, sizeof msg, "t%d-r%d", id, i);
		if (write_all(fd, msg, (size_t)n) != 0 || read_full(fd, buf, (size_t)n) != (size_t)n ||
		    memcmp(msg, buf, (size_t)n) != 0) {
			fprintf(stderr, "thread %d round %d: bad echo\n", id, i);
			thread_errors[id]++;
		}
		close(fd);
	}
	return NULL;
}

/* The self-connections are echoed by this thread, one at a time. */
static void *server(void *arg)
{
	(void)arg;
	for (;;) {
		int s = accept(listener, NULL, NULL);
		if (s < 0)
			continue;
		char buf[64];
		ssize_t n;
		while ((n = read(s, buf, sizeof buf)) > 0) {
			if (write_all(s, buf, (size_t)n) != 0)
				break;
			if (wait_fd(s, POLLIN, 0) == 0)
				break; /* a client sends one message and waits for it */
		}
		close(s);
	}
	return NULL;
}

int main(void)
{
	watchdog(90);
	listener = tcp_listen(SELF_IP, 0, &self_port);
	REQUIRE("listen", listener >= 0, "errno %s", ename(errno));
	pthread_t srv, th[THREADS];
	pthread_create(&srv, NULL, server, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, client, (void *)(intptr_t)i);
	pid_t pid = fork(); /* while the threads are busy */
	if (pid == 0) {
		int fd = tcp_connect(PEER_IP, PORT_ECHO);
		char buf[4];
		int good = fd >= 0 && write_all(fd, "kid", 3) == 0 && read_full(fd, buf, 3) == 3;
		_exit(good ? 0 : 1);
	}
	int errors = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		errors += thread_errors[i];
	}
	CHECK("threads: every connection worked", errors == 0, "%d failures", errors);
	int st;
	waitpid(pid, &st, 0);
	CHECK("child forked amid the threads can connect", WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "status 0x%x", st);
	return finish();
}
