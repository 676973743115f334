/* The store's calls, each handed to the backend's table (store_backend.h). */
#include "store/store_backend.h"

int uh_store_open(const char *path, struct uh_store **out, struct uh_error *err)
{
	return uh_store_sqlite_open(path, out, err);
}

const char *uh_store_backend(const struct uh_store *s) { return s->ops->name; }

void uh_store_set_full_hook(struct uh_store *s, int (*fn)(void *arg), void *arg)
{
	s->ops->set_full_hook(s, fn, arg);
}

void uh_store_close(struct uh_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int uh_store_begin(struct uh_store *s, struct uh_error *err) { return s->ops->begin(s, err); }

int uh_store_commit(struct uh_store *s, struct uh_error *err) { return s->ops->commit(s, err); }

void uh_store_rollback(struct uh_store *s) { s->ops->rollback(s); }

int uh_store_template_put(struct uh_store *s, const struct uh_template_rec *t, struct uh_error *err)
{
	return s->ops->template_put(s, t, err);
}

int uh_store_template_get(struct uh_store *s, const char *name, int version,
			  struct uh_template_rec *t, struct uh_error *err)
{
	return s->ops->template_get(s, name, version, t, err);
}

int uh_store_template_del(struct uh_store *s, const char *name, int version, struct uh_error *err)
{
	return s->ops->template_del(s, name, version, err);
}

int uh_store_template_list(struct uh_store *s,
			   int (*fn)(const struct uh_template_rec *t, void *arg), void *arg,
			   struct uh_error *err)
{
	return s->ops->template_list(s, fn, arg, err);
}

int uh_store_instance_put(struct uh_store *s, struct uh_instance_rec *r, struct uh_error *err)
{
	return s->ops->instance_put(s, r, err);
}

int uh_store_instance_get(struct uh_store *s, const char *name, struct uh_instance_rec *r,
			  struct uh_error *err)
{
	return s->ops->instance_get(s, name, r, err);
}

int uh_store_instance_del(struct uh_store *s, const char *name, struct uh_error *err)
{
	return s->ops->instance_del(s, name, err);
}

int uh_store_instance_rename(struct uh_store *s, struct uh_instance_rec *r, const char *to,
			     const char *disk, struct uh_error *err)
{
	return s->ops->instance_rename(s, r, to, disk, err);
}

int uh_store_instance_list(struct uh_store *s,
			   int (*fn)(const struct uh_instance_rec *r, void *arg), void *arg,
			   struct uh_error *err)
{
	return s->ops->instance_list(s, fn, arg, err);
}

int uh_store_network_put(struct uh_store *s, const struct uh_network_rec *n, struct uh_error *err)
{
	return s->ops->network_put(s, n, err);
}

int uh_store_network_get(struct uh_store *s, const char *name, struct uh_network_rec *n,
			 struct uh_error *err)
{
	return s->ops->network_get(s, name, n, err);
}

int uh_store_network_del(struct uh_store *s, const char *name, struct uh_error *err)
{
	return s->ops->network_del(s, name, err);
}

int uh_store_network_list(struct uh_store *s, int (*fn)(const struct uh_network_rec *n, void *arg),
			  void *arg, struct uh_error *err)
{
	return s->ops->network_list(s, fn, arg, err);
}

int uh_store_kernel_put(struct uh_store *s, const struct uh_kernel_rec *k, struct uh_error *err)
{
	return s->ops->kernel_put(s, k, err);
}

int uh_store_kernel_get(struct uh_store *s, const char *name, struct uh_kernel_rec *k,
			struct uh_error *err)
{
	return s->ops->kernel_get(s, name, k, err);
}

int uh_store_kernel_del(struct uh_store *s, const char *name, struct uh_error *err)
{
	return s->ops->kernel_del(s, name, err);
}

int uh_store_kernel_list(struct uh_store *s, int (*fn)(const struct uh_kernel_rec *k, void *arg),
			 void *arg, struct uh_error *err)
{
	return s->ops->kernel_list(s, fn, arg, err);
}

int uh_store_backup_put(struct uh_store *s, const struct uh_backup_rec *b, struct uh_error *err)
{
	return s->ops->backup_put(s, b, err);
}

int uh_store_backup_del(struct uh_store *s, const char *archive, struct uh_error *err)
{
	return s->ops->backup_del(s, archive, err);
}

int uh_store_backup_get(struct uh_store *s, const char *archive, struct uh_backup_rec *b,
			struct uh_error *err)
{
	return s->ops->backup_get(s, archive, b, err);
}

int uh_store_backup_list(struct uh_store *s, int (*fn)(const struct uh_backup_rec *b, void *arg),
			 void *arg, struct uh_error *err)
{
	return s->ops->backup_list(s, fn, arg, err);
}

int uh_store_customer_put(struct uh_store *s, const struct uh_customer_rec *c,
			  struct uh_error *err)
{
	return s->ops->customer_put(s, c, err);
}

int uh_store_customer_get(struct uh_store *s, const char *name, struct uh_customer_rec *c,
			  struct uh_error *err)
{
	return s->ops->customer_get(s, name, c, err);
}

int uh_store_customer_del(struct uh_store *s, const char *name, struct uh_error *err)
{
	return s->ops->customer_del(s, name, err);
}

int uh_store_customer_list(struct uh_store *s,
			   int (*fn)(const struct uh_customer_rec *c, void *arg), void *arg,
			   struct uh_error *err)
{
	return s->ops->customer_list(s, fn, arg, err);
}

int uh_store_token_put(struct uh_store *s, const struct uh_token_rec *t, int replace,
		       struct uh_error *err)
{
	return s->ops->token_put(s, t, replace, err);
}

int uh_store_token_get(struct uh_store *s, const char *id, struct uh_token_rec *t,
		       struct uh_error *err)
{
	return s->ops->token_get(s, id, t, err);
}

int uh_store_token_del(struct uh_store *s, const char *id, struct uh_error *err)
{
	return s->ops->token_del(s, id, err);
}

int uh_store_token_list(struct uh_store *s, const char *customer,
			int (*fn)(const struct uh_token_rec *t, void *arg), void *arg,
			struct uh_error *err)
{
	return s->ops->token_list(s, customer, fn, arg, err);
}

int uh_store_event_prune(struct uh_store *s, int keep, int64_t before_ms, int *deleted,
			 struct uh_error *err)
{
	return s->ops->event_prune(s, keep, before_ms, deleted, err);
}

int uh_store_event_add(struct uh_store *s, struct uh_event_rec *ev, struct uh_error *err)
{
	return s->ops->event_add(s, ev, err);
}

int uh_store_event_list(struct uh_store *s, int64_t since_id, int limit,
			int (*fn)(const struct uh_event_rec *ev, void *arg), void *arg,
			struct uh_error *err)
{
	return s->ops->event_list(s, since_id, limit, fn, arg, err);
}

int uh_store_stats_add(struct uh_store *s, const struct uh_stats_rec *r, struct uh_error *err)
{
	return s->ops->stats_add(s, r, err);
}

int uh_store_stats_rollup(struct uh_store *s, int64_t hour_start, struct uh_error *err)
{
	return s->ops->stats_rollup(s, hour_start, err);
}

int uh_store_stats_prune(struct uh_store *s, int64_t minute_before, int64_t hour_before,
			 struct uh_error *err)
{
	return s->ops->stats_prune(s, minute_before, hour_before, err);
}

int uh_store_stats_list(struct uh_store *s, const char *instance, const char *owner, int hourly,
			int64_t since, int (*fn)(const struct uh_stats_rec *r, void *arg), void *arg,
			struct uh_error *err)
{
	return s->ops->stats_list(s, instance, owner, hourly, since, fn, arg, err);
}

int uh_store_event_last(struct uh_store *s, int64_t *id, struct uh_error *err)
{
	return s->ops->event_last(s, id, err);
}
