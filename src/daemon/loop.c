#include "daemon/loop.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct uh_watch {
	int fd;
	uh_io_fn fn;
	void *arg;
	int dead;
	struct uh_watch *next_dead;
};

struct uh_timer {
	int64_t when;
	uh_timer_fn fn;
	void *arg;
	struct uh_timer *next;
};

struct uh_loop {
	int ep;
	struct uh_timer *timers; /* sorted by `when` */
	struct uh_watch *dead;	 /* unwatched during dispatch, freed after it */
};

struct uh_loop *uh_loop_new(void)
{
	struct uh_loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		abort();
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void free_dead(struct uh_loop *l)
{
	while (l->dead) {
		struct uh_watch *w = l->dead;
		l->dead = w->next_dead;
		free(w);
	}
}

void uh_loop_free(struct uh_loop *l)
{
	if (l == NULL)
		return;
	while (l->timers) {
		struct uh_timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	free_dead(l);
	close(l->ep);
	free(l);
}

struct uh_watch *uh_loop_watch(struct uh_loop *l, int fd, uint32_t events, uh_io_fn fn, void *arg)
{
	struct uh_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = {.events = events};

	if (w == NULL)
		abort();
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

void uh_loop_unwatch(struct uh_loop *l, struct uh_watch *w)
{
	if (w == NULL)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = 1; /* an event for it may still be in this round's batch */
	w->next_dead = l->dead;
	l->dead = w;
}

int uh_loop_modify(struct uh_loop *l, struct uh_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(l->ep, EPOLL_CTL_MOD, w->fd, &ev);
}

struct uh_timer *uh_loop_after(struct uh_loop *l, int64_t delay_ms, uh_timer_fn fn, void *arg)
{
	struct uh_timer *t = calloc(1, sizeof(*t)), **pp;

	if (t == NULL)
		abort();
	t->when = uh_now_ms() + delay_ms;
	t->fn = fn;
	t->arg = arg;
	for (pp = &l->timers; *pp && (*pp)->when <= t->when; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

void uh_loop_cancel(struct uh_loop *l, struct uh_timer *t)
{
	struct uh_timer **pp;

	if (t == NULL)
		return;
	for (pp = &l->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
}

int uh_loop_run_once(struct uh_loop *l, int64_t max_wait_ms)
{
	struct epoll_event evs[64];
	int64_t wait = max_wait_ms, now;
	int n, i;

	if (l->timers) {
		int64_t until = l->timers->when - uh_now_ms();
		if (until < 0)
			until = 0;
		if (wait < 0 || until < wait)
			wait = until;
	}
	n = epoll_wait(l->ep, evs, 64, wait < 0 ? -1 : (int)wait);
	if (n < 0 && errno != EINTR)
		return -1;
	for (i = 0; i < n; i++) {
		struct uh_watch *w = evs[i].data.ptr;
		if (!w->dead)
			w->fn(w->arg, evs[i].events);
	}
	now = uh_now_ms();
	while (l->timers && l->timers->when <= now) {
		struct uh_timer *t = l->timers;
		l->timers = t->next;
		t->fn(t->arg);
		free(t);
	}
	free_dead(l);
	return 0;
}
