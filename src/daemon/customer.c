/* The provider's customers and who owns which instance. A customer is a name; what it may do
 * comes from its tokens (tokens.c), what it sees from ownership (auth/access.c). */
#include "daemon/customer.h"
#include "auth/access.h"
#include "util/validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int reserved(const char *name)
{
	return strcmp(name, UH_PROVIDER) == 0 || strcmp(name, UH_ALL_CUSTOMERS) == 0;
}

int uh_customer_check(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_customer_rec c;
	int r;

	if (uh_validate_name("customer", name, err) < 0)
		return -1;
	if (strcmp(name, UH_PROVIDER) == 0)
		return 0;
	r = uh_store_customer_get(d->store, name, &c, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "no customer named '%s' (umlhost customer create %s)",
			       name, name);
	return 0;
}

int uh_customer_create(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	struct uh_customer_rec c = {0};

	if (name == NULL)
		return uh_errx(err, "customer create: a name is required");
	if (uh_validate_name("customer", name, err) < 0)
		return -1;
	if (reserved(name))
		return uh_errc(err, EEXIST, "customer '%s' is built in (the provider's own)", name);
	snprintf(c.name, sizeof(c.name), "%s", name);
	c.created = time(NULL);
	if (uh_store_customer_put(d->store, &c, err) < 0)
		return -1;
	uh_daemon_event(d, "-", "customer-created", "%s", name);
	*out = json_pack("{s:s, s:I, s:[], s:i}", "name", name, "created_at", (json_int_t)c.created,
			 "servers", "tokens", 0);
	return 0;
}

struct token_count {
	const char *customer;
	int n;
};

static int count_token(const struct uh_token_rec *t, void *arg)
{
	struct token_count *tc = arg;

	tc->n += strcmp(t->customer, tc->customer) == 0;
	return 0;
}

static json_t *customer_json(struct uh_daemon *d, const char *name, int64_t created,
			     struct uh_error *err)
{
	struct token_count tc = {name, 0};
	json_t *servers = json_array();
	struct uh_instance *i;

	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.owner[0] ? i->rec.owner : UH_PROVIDER, name) == 0)
			json_array_append_new(servers, json_string(i->rec.name));
	if (uh_store_token_list(d->store, name, count_token, &tc, err) < 0) {
		json_decref(servers);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:o, s:i}", "name", name, "created_at",
			 created ? json_integer(created) : json_null(), "servers", servers,
			 "tokens", tc.n);
}

struct list_ctx {
	struct uh_daemon *d;
	json_t *arr;
	struct uh_error *err;
	int failed;
};

static int add_customer(const struct uh_customer_rec *c, void *arg)
{
	struct list_ctx *l = arg;
	json_t *o = customer_json(l->d, c->name, c->created, l->err);

	if (o == NULL) {
		l->failed = 1;
		return 1;
	}
	json_array_append_new(l->arr, o);
	return 0;
}

json_t *uh_customer_list(struct uh_daemon *d, struct uh_error *err)
{
	struct list_ctx l = {d, json_array(), err, 0};
	json_t *prov = customer_json(d, UH_PROVIDER, 0, err);

	if (prov == NULL)
		goto fail;
	json_array_append_new(l.arr, prov);
	if (uh_store_customer_list(d->store, add_customer, &l, err) < 0 || l.failed)
		goto fail;
	return l.arr;
fail:
	json_decref(l.arr);
	return NULL;
}

static int collect_token(const struct uh_token_rec *t, void *arg)
{
	json_array_append_new(arg, json_string(t->id));
	return 0;
}

int uh_customer_remove(struct uh_daemon *d, const char *name, json_t **out, struct uh_error *err)
{
	uh_autojson json_t *ids = json_array();
	char owned[512] = "";
	struct uh_instance *i;
	size_t used = 0;
	int n = 0;

	if (uh_validate_name("customer", name, err) < 0)
		return -1;
	if (reserved(name))
		return uh_errc(err, EINVAL, "customer '%s' is built in and cannot be removed", name);
	if (uh_customer_check(d, name, err) < 0)
		return -1;
	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.owner, name) == 0 && used < sizeof(owned) - 40) {
			used += (size_t)snprintf(owned + used, sizeof(owned) - used, "%s%s",
						 n ? ", " : "", i->rec.name);
			n++;
		}
	if (n)
		return uh_errc(err, EBUSY, "customer '%s' still owns %d instance%s (%s): delete them "
					   "or give them to another customer (umlhost chown)",
			       name, n, n == 1 ? "" : "s", owned);
	/* the customer and all its tokens, or nothing */
	if (uh_store_token_list(d->store, name, collect_token, ids, err) < 0 ||
	    uh_store_begin(d->store, err) < 0)
		return -1;
	for (size_t k = 0; k < json_array_size(ids); k++)
		if (uh_store_token_del(d->store, json_string_value(json_array_get(ids, k)), err) < 0)
			goto fail;
	if (uh_store_customer_del(d->store, name, err) < 0 || uh_store_commit(d->store, err) < 0)
		goto fail;
	n = (int)json_array_size(ids);
	uh_daemon_event(d, "-", "customer-removed", "%s (%d token%s revoked with it)", name, n,
			n == 1 ? "" : "s");
	*out = json_pack("{s:s, s:i}", "removed", name, "tokens_revoked", n);
	return 0;
fail:
	uh_store_rollback(d->store);
	return -1;
}

int uh_instance_chown(struct uh_daemon *d, const char *instance, const char *owner, json_t **out,
		      struct uh_error *err)
{
	struct uh_instance *inst = uh_instance_find(d, instance);
	char was[UH_KEY_MAX];

	if (inst == NULL)
		return uh_errc(err, ENOENT, "no instance named '%s'", instance);
	if (owner == NULL)
		return uh_errx(err, "chown %s: a customer is required", instance);
	if (uh_customer_check(d, owner, err) < 0)
		return uh_err_prefix(err, "chown %s", instance);
	snprintf(was, sizeof(was), "%s", inst->rec.owner[0] ? inst->rec.owner : UH_PROVIDER);
	if (strcmp(was, owner) == 0) {
		*out = uh_instance_json(inst);
		return 0;
	}
	snprintf(inst->rec.owner, sizeof(inst->rec.owner), "%s", owner);
	if (uh_instance_write(inst, err) < 0) {
		snprintf(inst->rec.owner, sizeof(inst->rec.owner), "%s", was);
		return uh_err_prefix(err, "chown %s", instance);
	}
	/* the host's event, not the server's: neither customer learns the other's name */
	uh_daemon_event(d, "-", "owner-changed", "%s: %s -> %s", instance, was, owner);
	*out = uh_instance_json(inst);
	return 0;
}
