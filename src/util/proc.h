/* Reading /proc: process start times (to tell a live pid from a reused one), the processes of
 * a session (a UML instance is one session: the kernel plus one host process per guest
 * process), and their CPU and memory. */
#ifndef UH_UTIL_PROC_H
#define UH_UTIL_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (clock ticks after boot), 0 if the process is gone. */
uint64_t uh_proc_starttime(pid_t pid);
/* Is pid the process that started at `start` (uh_proc_starttime), and not a zombie? */
int uh_proc_running(pid_t pid, uint64_t start);
/* Send sig to every process whose session id is sid and whose real uid is uid ((uid_t)-1:
 * any). Returns how many were signalled. */
int uh_proc_signal_session(pid_t sid, uid_t uid, int sig);
/* The real uid of pid, (uid_t)-1 if it is gone. */
uid_t uh_proc_uid(pid_t pid);
/* Send sig to every process that has `path` open (matched by device and inode). A kernel
 * killed with SIGKILL can leave helpers outside its session that share its file table and so
 * keep its disk's POSIX lock; this finds them. Returns how many were signalled, -1 if path is
 * gone. */
int uh_proc_signal_file_users(const char *path, int sig);
/* Count the processes of a session. */
int uh_proc_session_count(pid_t sid);
/* CPU seconds (utime+stime of every process in the session) and memory: the kernel
 * process's RSS (it maps the guest's RAM, which its helper processes share) plus the
 * private memory of the others. Summing PSS instead over-counts about 3x. */
int uh_proc_session_usage(pid_t sid, double *cpu_seconds, uint64_t *memory_bytes);

#endif
