/* customer.c: the provider's customers (who owns instances and holds tokens) and instance
 * ownership. Called by the API; calls instances' records and the store. */
#ifndef UH_DAEMON_CUSTOMER_H
#define UH_DAEMON_CUSTOMER_H

#include "daemon/daemon.h"

/* {"name": C}: a new customer (EEXIST when there is one; "provider" and "*" are taken). */
int uh_customer_create(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err);
/* Every customer with its servers and token count; "provider" first. */
json_t *uh_customer_list(struct uh_daemon *d, struct uh_error *err);
/* Remove a customer: refused (EBUSY, naming them) while it owns instances; its tokens are
 * revoked with it, in one transaction. */
int uh_customer_remove(struct uh_daemon *d, const char *name, json_t **out, struct uh_error *err);
/* 0 when `name` may own an instance ("provider" or a stored customer), else ENOENT. */
int uh_customer_check(struct uh_daemon *d, const char *name, struct uh_error *err);
/* Give an instance to another customer (any state: nothing in the guest changes). */
int uh_instance_chown(struct uh_daemon *d, const char *instance, const char *owner, json_t **out,
		      struct uh_error *err);

#endif
