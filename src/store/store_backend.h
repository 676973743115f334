/* What a state backend implements (store.h says what each call means). A backend's handle
 * begins with struct uh_store; the calls get that handle back. */
#ifndef UH_STORE_BACKEND_H
#define UH_STORE_BACKEND_H

#include "store/store.h"

struct uh_store_ops {
	const char *name;
	void (*set_full_hook)(struct uh_store *s, int (*fn)(void *arg), void *arg);
	void (*close)(struct uh_store *s);
	int (*begin)(struct uh_store *s, struct uh_error *err);
	int (*commit)(struct uh_store *s, struct uh_error *err);
	void (*rollback)(struct uh_store *s);
	int (*template_put)(struct uh_store *s, const struct uh_template_rec *t,
			    struct uh_error *err);
	int (*template_get)(struct uh_store *s, const char *name, int version,
			    struct uh_template_rec *t, struct uh_error *err);
	int (*template_del)(struct uh_store *s, const char *name, int version,
			    struct uh_error *err);
	int (*template_list)(struct uh_store *s,
			     int (*fn)(const struct uh_template_rec *t, void *arg), void *arg,
			     struct uh_error *err);
	int (*instance_put)(struct uh_store *s, struct uh_instance_rec *r, struct uh_error *err);
	int (*instance_get)(struct uh_store *s, const char *name, struct uh_instance_rec *r,
			    struct uh_error *err);
	int (*instance_del)(struct uh_store *s, const char *name, struct uh_error *err);
	int (*instance_rename)(struct uh_store *s, struct uh_instance_rec *r, const char *to,
			       const char *disk, struct uh_error *err);
	int (*instance_list)(struct uh_store *s,
			     int (*fn)(const struct uh_instance_rec *r, void *arg), void *arg,
			     struct uh_error *err);
	int (*network_put)(struct uh_store *s, const struct uh_network_rec *n,
			   struct uh_error *err);
	int (*network_get)(struct uh_store *s, const char *name, struct uh_network_rec *n,
			   struct uh_error *err);
	int (*network_del)(struct uh_store *s, const char *name, struct uh_error *err);
	int (*network_list)(struct uh_store *s,
			    int (*fn)(const struct uh_network_rec *n, void *arg), void *arg,
			    struct uh_error *err);
	int (*kernel_put)(struct uh_store *s, const struct uh_kernel_rec *k, struct uh_error *err);
	int (*kernel_get)(struct uh_store *s, const char *name, struct uh_kernel_rec *k,
			  struct uh_error *err);
	int (*kernel_del)(struct uh_store *s, const char *name, struct uh_error *err);
	int (*kernel_list)(struct uh_store *s, int (*fn)(const struct uh_kernel_rec *k, void *arg),
			   void *arg, struct uh_error *err);
	int (*backup_put)(struct uh_store *s, const struct uh_backup_rec *b, struct uh_error *err);
	int (*backup_del)(struct uh_store *s, const char *archive, struct uh_error *err);
	int (*backup_get)(struct uh_store *s, const char *archive, struct uh_backup_rec *b,
			  struct uh_error *err);
	int (*backup_list)(struct uh_store *s, int (*fn)(const struct uh_backup_rec *b, void *arg),
			   void *arg, struct uh_error *err);
	int (*customer_put)(struct uh_store *s, const struct uh_customer_rec *c,
			    struct uh_error *err);
	int (*customer_get)(struct uh_store *s, const char *name, struct uh_customer_rec *c,
			    struct uh_error *err);
	int (*customer_del)(struct uh_store *s, const char *name, struct uh_error *err);
	int (*customer_list)(struct uh_store *s,
			     int (*fn)(const struct uh_customer_rec *c, void *arg), void *arg,
			     struct uh_error *err);
	int (*token_put)(struct uh_store *s, const struct uh_token_rec *t, int replace,
			 struct uh_error *err);
	int (*token_get)(struct uh_store *s, const char *id, struct uh_token_rec *t,
			 struct uh_error *err);
	int (*token_del)(struct uh_store *s, const char *id, struct uh_error *err);
	int (*token_list)(struct uh_store *s, const char *customer,
			  int (*fn)(const struct uh_token_rec *t, void *arg), void *arg,
			  struct uh_error *err);
	int (*stats_add)(struct uh_store *s, const struct uh_stats_rec *r, struct uh_error *err);
	int (*stats_rollup)(struct uh_store *s, int64_t hour_start, struct uh_error *err);
	int (*stats_prune)(struct uh_store *s, int64_t minute_before, int64_t hour_before,
			   struct uh_error *err);
	int (*stats_list)(struct uh_store *s, const char *instance, const char *owner, int hourly,
			  int64_t since,
			  int (*fn)(const struct uh_stats_rec *r, void *arg), void *arg,
			  struct uh_error *err);
	int (*event_prune)(struct uh_store *s, int keep, int64_t before_ms, int *deleted,
			   struct uh_error *err);
	int (*event_add)(struct uh_store *s, struct uh_event_rec *ev, struct uh_error *err);
	int (*event_last)(struct uh_store *s, int64_t *id, struct uh_error *err);
	int (*event_list)(struct uh_store *s, int64_t since_id, int limit,
			  int (*fn)(const struct uh_event_rec *ev, void *arg), void *arg,
			  struct uh_error *err);
};

struct uh_store {
	const struct uh_store_ops *ops;
};

/* store_sqlite.c */
int uh_store_sqlite_open(const char *path, struct uh_store **out, struct uh_error *err);

#endif
