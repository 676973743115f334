/* The daemon's one event loop: epoll for descriptors, a sorted list of one-shot timers.
 * Callbacks run on the loop; nothing in them may block. */
#ifndef UH_DAEMON_LOOP_H
#define UH_DAEMON_LOOP_H

#include <stdint.h>

struct uh_loop;
struct uh_watch;
struct uh_timer;

typedef void (*uh_io_fn)(void *arg, uint32_t events);
typedef void (*uh_timer_fn)(void *arg);

struct uh_loop *uh_loop_new(void);
void uh_loop_free(struct uh_loop *l);

/* Watch fd for events (EPOLLIN...). The watch is freed by uh_loop_unwatch. */
struct uh_watch *uh_loop_watch(struct uh_loop *l, int fd, uint32_t events, uh_io_fn fn, void *arg);
void uh_loop_unwatch(struct uh_loop *l, struct uh_watch *w);
/* Change the events a watch waits for. */
int uh_loop_modify(struct uh_loop *l, struct uh_watch *w, uint32_t events);

/* Call fn once after delay_ms. Returns a handle for uh_loop_cancel (NULL-safe). */
struct uh_timer *uh_loop_after(struct uh_loop *l, int64_t delay_ms, uh_timer_fn fn, void *arg);
void uh_loop_cancel(struct uh_loop *l, struct uh_timer *t);

/* Run one iteration: wait at most max_wait_ms (or until the next timer), dispatch. */
int uh_loop_run_once(struct uh_loop *l, int64_t max_wait_ms);

#endif
