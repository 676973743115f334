/* The fleet file read into create's JSON (fleet.h). libyaml's document API gives every node
 * its position, so each error names file, line and column; the schema is walked by hand (a
 * fixed depth: no generic recursion for a hostile file to exhaust). */
#include "fleet/fleet.h"
#include "util/validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define SCALAR_MAX 4096

enum kind { K_STR, K_INT, K_BOOL, K_LIST, K_STATE, K_VERSION };

struct key {
	const char *name;
	enum kind kind;
};

static const struct key server_keys[] = {
	{"template", K_STR},	   {"template_version", K_INT}, {"memory", K_STR},
	{"network", K_STR},	   {"ip", K_STR},		{"kernel", K_STR},
	{"kernel_args", K_LIST},   {"owner", K_STR},		{"swap", K_STR},
	{"disks", K_LIST},	   {"ssh_keys", K_LIST},	{"restart", K_STR},
	{"autostart", K_BOOL},	   {"cpu_quota", K_INT},	{"pids_max", K_INT},
	{"reclaim", K_STR},
	{"backup_every", K_STR},   {"backup_keep", K_INT},	{"backup_to", K_STR},
	{"state", K_STATE},	   {"renamed_from", K_STR},	{"count", K_INT},
};
static const struct key network_keys[] = {
	{"mode", K_STR}, {"pool", K_STR}, {"uplink", K_STR}, {"bridge", K_STR}, {"gateway", K_STR},
};
static const struct key template_keys[] = {{"version", K_VERSION}};
#define N(a) (sizeof(a) / sizeof((a)[0]))

struct ctx {
	yaml_document_t doc;
	const char *file;
	struct uh_error *err;
	unsigned char *seen; /* nodes reached once already (an alias reaches one twice) */
	int nodes;
};

static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return uh_errx(c->err, "%s:%zu:%zu: %s", c->file, n->start_mark.line + 1,
		       n->start_mark.column + 1, msg);
}

/* A node, once: a second visit is an alias. */
static yaml_node_t *node(struct ctx *c, int id, const yaml_node_t *from)
{
	yaml_node_t *n = yaml_document_get_node(&c->doc, id);

	if (n == NULL || id < 1 || id > c->nodes) {
		uh_errx(c->err, "%s: a broken document", c->file);
		return NULL;
	}
	if (c->seen[id - 1]) {
		fail(c, from ? from : n, "anchors and aliases are not supported: write it out");
		return NULL;
	}
	c->seen[id - 1] = 1;
	return n;
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static const char *kind_name(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a map" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a value";
}

static int is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (n->data.scalar.length == 0 || strcmp(scalar(n), "~") == 0 ||
		strcmp(scalar(n), "null") == 0);
}

static json_t *text_of(struct ctx *c, const yaml_node_t *n, const char *what)
{
	json_t *s;

	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		fail(c, n, "%s: expected a value, got %s", what, is_null(n) ? "nothing" : kind_name(n));
		return NULL;
	}
	if (n->data.scalar.length > SCALAR_MAX || strlen(scalar(n)) != n->data.scalar.length) {
		fail(c, n, "%s: a value longer than %d bytes or with a NUL", what, SCALAR_MAX);
		return NULL;
	}
	s = json_string(scalar(n));
	if (s == NULL)
		fail(c, n, "%s: not UTF-8", what);
	return s;
}

static json_t *value(struct ctx *c, const struct key *k, const yaml_node_t *n, const char *what)
{
	const char *v;
	json_t *arr;

	switch (k->kind) {
	case K_LIST:
		if (n->type != YAML_SEQUENCE_NODE) {
			fail(c, n, "%s: expected a list (- item per line), got %s", what, kind_name(n));
			return NULL;
		}
		arr = json_array();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++) {
			yaml_node_t *item = node(c, *i, n);
			json_t *s = item ? text_of(c, item, what) : NULL;

			if (s == NULL) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, s);
		}
		return arr;
	case K_STR:
		return text_of(c, n, what);
	default:
		break;
	}
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		fail(c, n, "%s: expected a value, got %s", what, is_null(n) ? "nothing" : kind_name(n));
		return NULL;
	}
	v = scalar(n);
	switch (k->kind) {
	case K_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
			return json_boolean(v[0] == 't');
		fail(c, n, "%s: expected true or false, got '%.40s'", what, v);
		return NULL;
	case K_STATE:
		if (strcmp(v, "running") == 0 || strcmp(v, "stopped") == 0)
			return json_string(v);
		fail(c, n, "%s: expected running or stopped, got '%.40s'", what, v);
		return NULL;
	case K_VERSION:
		if (strcmp(v, "latest") == 0)
			return json_string(v);
		/* fall through */
	default: /* K_INT */
		if (v[0] == '\0' || strlen(v) > 9 || strspn(v, "0123456789") != strlen(v)) {
			fail(c, n, "%s: expected a whole number%s, got '%.40s'", what,
			     k->kind == K_VERSION ? " or latest" : "", v);
			return NULL;
		}
		return json_integer(strtol(v, NULL, 10));
	}
}

/* A map of known keys, each once, into out. */
static int map_of(struct ctx *c, const yaml_node_t *n, const struct key *keys, size_t nkeys,
		  const char *what, json_t *out)
{
	if (n->type != YAML_MAPPING_NODE) {
		if (is_null(n))
			return 0; /* "web1:" with nothing under it: all defaults */
		return fail(c, n, "%s: expected a map (key: value lines), got %s", what, kind_name(n));
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node(c, p->key, n), *vn;
		const struct key *k = NULL;
		char path[200];
		json_t *v;

		if (kn == NULL)
			return -1;
		if (kn->type != YAML_SCALAR_NODE)
			return fail(c, kn, "%s: a key must be a word, not %s", what, kind_name(kn));
		for (size_t i = 0; i < nkeys; i++)
			if (strcmp(keys[i].name, scalar(kn)) == 0)
				k = &keys[i];
		if (k == NULL) {
			char list[400] = "";

			for (size_t i = 0; i < nkeys; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 i ? ", " : "", keys[i].name);
			return fail(c, kn, "%s: unknown key '%.40s' (expected one of: %s)", what,
				    scalar(kn), list);
		}
		if (json_object_get(out, k->name))
			return fail(c, kn, "%s: %s given twice", what, k->name);
		snprintf(path, sizeof(path), "%s: %s", what, k->name);
		if ((vn = node(c, p->value, kn)) == NULL || (v = value(c, k, vn, path)) == NULL)
			return -1;
		json_object_set_new(out, k->name, v);
	}
	return 0;
}

static int check_name(struct ctx *c, const yaml_node_t *n, const char *kind, const char *name)
{
	struct uh_error e;

	if (uh_validate_name(kind, name, &e) < 0)
		return fail(c, n, "%s", e.msg);
	return 0;
}

/* "web{01..20}" -> prefix "web", 1..20, width 2, suffix ""; no braces: one name. */
struct pattern {
	char prefix[64], suffix[64];
	long from, to;
	int width;
};

static int pattern_parse(struct ctx *c, const yaml_node_t *n, const char *s, struct pattern *p)
{
	const char *open = strchr(s, '{'), *dots, *close;
	char *end;

	memset(p, 0, sizeof(*p));
	if (open == NULL) {
		if (strchr(s, '}'))
			return fail(c, n, "server '%.40s': a } without its {", s);
		snprintf(p->prefix, sizeof(p->prefix), "%.63s", s);
		p->from = p->to = -1;
		return 0;
	}
	dots = strstr(open, "..");
	close = strchr(open, '}');
	if (dots == NULL || close == NULL || dots > close || strchr(close + 1, '{') ||
	    (size_t)(open - s) >= sizeof(p->prefix) || strlen(close + 1) >= sizeof(p->suffix))
		return fail(c, n, "server '%.40s': a name holds at most one range like web{01..20}",
			    s);
	p->from = strtol(open + 1, &end, 10);
	if (end != dots || open[1] < '0' || open[1] > '9')
		return fail(c, n, "server '%.40s': expected a number after {", s);
	p->to = strtol(dots + 2, &end, 10);
	if (end != close || dots[2] < '0' || dots[2] > '9')
		return fail(c, n, "server '%.40s': expected a number after ..", s);
	if (p->from > p->to || p->to - p->from >= UH_FLEET_MAX_SERVERS || dots - open - 1 > 5)
		return fail(c, n, "server '%.40s': a range from low to high, at most %d names", s,
			    UH_FLEET_MAX_SERVERS);
	p->width = open[1] == '0' ? (int)(dots - open - 1) : 0;
	memcpy(p->prefix, s, (size_t)(open - s));
	snprintf(p->suffix, sizeof(p->suffix), "%s", close + 1);
	return 0;
}

static int servers_of(struct ctx *c, const yaml_node_t *n, json_t *defaults, json_t *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return is_null(n) ? 0
				  : fail(c, n, "servers: expected a map of names, got %s", kind_name(n));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node(c, p->key, n), *vn;
		struct pattern pat;
		json_t *spec = json_object(), *count;
		const char *key, *k;
		json_t *v;
		long many;
		char what[120];

		if (kn == NULL || (vn = node(c, p->value, kn)) == NULL)
			goto fail;
		if (kn->type != YAML_SCALAR_NODE || is_null(kn)) {
			fail(c, kn, "servers: a server's name must be a word, not %s", kind_name(kn));
			goto fail;
		}
		key = scalar(kn);
		snprintf(what, sizeof(what), "servers: %.60s", key);
		if (pattern_parse(c, kn, key, &pat) < 0 ||
		    map_of(c, vn, server_keys, N(server_keys), what, spec) < 0)
			goto fail;
		many = pat.from < 0 ? 1 : pat.to - pat.from + 1;
		count = json_object_get(spec, "count");
		if (count && pat.from < 0 && json_integer_value(count) != 1) {
			fail(c, kn, "%s: count needs a range in the name, like web{01..%02lld}", what,
			     (long long)json_integer_value(count));
			goto fail;
		}
		if (count && json_integer_value(count) != many) {
			fail(c, kn, "%s: count is %lld but the name stands for %ld server%s", what,
			     (long long)json_integer_value(count), many, many == 1 ? "" : "s");
			goto fail;
		}
		json_object_del(spec, "count");
		if (many > 1 && json_object_get(spec, "renamed_from")) {
			fail(c, kn, "%s: renamed_from names one server, not %ld", what, many);
			goto fail;
		}
		json_object_foreach(defaults, k, v)
			if (json_object_get(spec, k) == NULL)
				json_object_set(spec, k, v);
		if (json_object_get(spec, "state") == NULL)
			json_object_set_new(spec, "state", json_string("running"));
		json_object_set_new(spec, "line", json_integer((json_int_t)kn->start_mark.line + 1));
		for (long i = 0; i < many; i++) {
			char name[160];
			json_t *one;

			if (pat.from < 0)
				snprintf(name, sizeof(name), "%s", pat.prefix);
			else
				snprintf(name, sizeof(name), "%s%0*ld%s", pat.prefix, pat.width,
					 pat.from + i, pat.suffix);
			if (check_name(c, kn, "server", name) < 0)
				goto fail;
			if ((one = json_object_get(out, name)) != NULL) {
				fail(c, kn, "server %s is given twice (also at line %lld)", name,
				     (long long)json_integer_value(json_object_get(one, "line")));
				goto fail;
			}
			if (json_object_size(out) >= UH_FLEET_MAX_SERVERS) {
				fail(c, kn, "more than %d servers", UH_FLEET_MAX_SERVERS);
				goto fail;
			}
			one = json_deep_copy(spec);
			json_object_set_new(one, "name", json_string(name));
			json_object_set_new(out, name, one);
		}
		json_decref(spec);
		continue;
fail:
		json_decref(spec);
		return -1;
	}
	return 0;
}

/* networks and templates: a map of names, each a map of known keys */
static int named_maps(struct ctx *c, const yaml_node_t *n, const char *section, const char *kind,
		      const struct key *keys, size_t nkeys, json_t *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return is_null(n) ? 0
				  : fail(c, n, "%s: expected a map of names, got %s", section,
					 kind_name(n));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node(c, p->key, n), *vn;
		json_t *one;
		char what[120];

		if (kn == NULL || (vn = node(c, p->value, kn)) == NULL)
			return -1;
		if (kn->type != YAML_SCALAR_NODE)
			return fail(c, kn, "%s: a name must be a word, not %s", section, kind_name(kn));
		if (check_name(c, kn, kind, scalar(kn)) < 0)
			return -1;
		if (json_object_get(out, scalar(kn)))
			return fail(c, kn, "%s: %s given twice", section, scalar(kn));
		snprintf(what, sizeof(what), "%s: %s", section, scalar(kn));
		one = json_object();
		json_object_set_new(out, scalar(kn), one);
		if (map_of(c, vn, keys, nkeys, what, one) < 0)
			return -1;
	}
	return 0;
}

static int customers_of(struct ctx *c, const yaml_node_t *n, json_t *out)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return is_null(n) ? 0
				  : fail(c, n, "customers: expected a list of names, got %s",
					 kind_name(n));
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		yaml_node_t *item = node(c, *i, n);
		size_t k;
		json_t *v;

		if (item == NULL)
			return -1;
		if (item->type != YAML_SCALAR_NODE)
			return fail(c, item, "customers: expected a name, got %s", kind_name(item));
		if (check_name(c, item, "customer", scalar(item)) < 0)
			return -1;
		json_array_foreach(out, k, v)
			if (strcmp(json_string_value(v), scalar(item)) == 0)
				return fail(c, item, "customers: %s given twice", scalar(item));
		json_array_append_new(out, json_string(scalar(item)));
	}
	return 0;
}

static int load(struct ctx *c, json_t *out)
{
	static const char *const sections[] = {"networks", "templates", "customers", "defaults",
						"servers"};
	yaml_node_t *root = yaml_document_get_root_node(&c->doc), *defaults_node = NULL,
		    *servers_node = NULL;
	json_t *defaults = json_object();
	int rc = -1;

	if (root == NULL || is_null(root)) {
		rc = 0; /* an empty file: an empty fleet */
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		fail(c, root, "expected a map of sections (networks, templates, customers, defaults, "
			      "servers), got %s", kind_name(root));
		goto out;
	}
	c->seen[0] = 1;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = node(c, p->key, root), *vn;
		const char *k;
		size_t s;

		if (kn == NULL || (vn = node(c, p->value, kn)) == NULL)
			goto out;
		k = kn->type == YAML_SCALAR_NODE ? scalar(kn) : "";
		for (s = 0; s < N(sections) && strcmp(k, sections[s]) != 0; s++)
			;
		if (s == N(sections)) {
			fail(c, kn, "unknown section '%.40s' (expected networks, templates, customers, "
				    "defaults or servers)", k);
			goto out;
		}
		if (json_object_get(out, k) || (s == 3 && defaults_node)) {
			fail(c, kn, "section %s given twice", k);
			goto out;
		}
		if (s == 0 || s == 1) {
			json_object_set_new(out, k, json_object());
			if (named_maps(c, vn, k, s == 0 ? "network" : "template",
				       s == 0 ? network_keys : template_keys,
				       s == 0 ? N(network_keys) : N(template_keys),
				       json_object_get(out, k)) < 0)
				goto out;
		} else if (s == 2) {
			json_object_set_new(out, k, json_array());
			if (customers_of(c, vn, json_object_get(out, k)) < 0)
				goto out;
		} else if (s == 3) {
			defaults_node = vn;
			if (map_of(c, vn, server_keys, N(server_keys), "defaults", defaults) < 0)
				goto out;
			if (json_object_get(defaults, "count") ||
			    json_object_get(defaults, "renamed_from")) {
				fail(c, vn, "defaults: count and renamed_from belong to one server");
				goto out;
			}
		} else {
			servers_node = vn;
			json_object_set_new(out, k, json_object());
		}
	}
	/* servers after defaults, wherever each stands in the file */
	if (servers_node && servers_of(c, servers_node, defaults, json_object_get(out, "servers")) < 0)
		goto out;
	rc = 0;
out:
	json_decref(defaults);
	return rc;
}

json_t *uh_fleet_parse(const char *text, size_t len, const char *file, struct uh_error *err)
{
	struct ctx c = {.file = file, .err = err};
	yaml_parser_t parser;
	yaml_document_t next;
	json_t *out = NULL;
	int loaded = 0;

	if (!yaml_parser_initialize(&parser)) {
		uh_errx(err, "%s: out of memory", file);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &c.doc)) {
		uh_errx(err, "%s:%zu:%zu: %s%s%s", file, parser.problem_mark.line + 1,
			parser.problem_mark.column + 1, parser.problem ? parser.problem : "not YAML",
			parser.context ? " " : "", parser.context ? parser.context : "");
		goto out;
	}
	loaded = 1;
	if (yaml_document_get_root_node(&c.doc) != NULL) {
		/* one document: a second one (after ---) would be ignored silently otherwise */
		if (!yaml_parser_load(&parser, &next)) {
			uh_errx(err, "%s:%zu:%zu: %s", file, parser.problem_mark.line + 1,
				parser.problem_mark.column + 1,
				parser.problem ? parser.problem : "not YAML");
			goto out;
		}
		if (yaml_document_get_root_node(&next) != NULL) {
			uh_errx(err, "%s:%zu:%zu: one document per fleet file (a second one starts "
				     "here)", file, next.start_mark.line + 1, next.start_mark.column + 1);
			yaml_document_delete(&next);
			goto out;
		}
		yaml_document_delete(&next);
	}
	c.nodes = (int)(c.doc.nodes.top - c.doc.nodes.start);
	c.seen = calloc((size_t)c.nodes + 1, 1);
	if (c.seen == NULL)
		abort();
	out = json_object();
	if (load(&c, out) < 0) {
		json_decref(out);
		out = NULL;
		goto out;
	}
	/* every section there, empty when the file leaves it out */
	if (!json_object_get(out, "networks"))
		json_object_set_new(out, "networks", json_object());
	if (!json_object_get(out, "templates"))
		json_object_set_new(out, "templates", json_object());
	if (!json_object_get(out, "customers"))
		json_object_set_new(out, "customers", json_array());
	if (!json_object_get(out, "servers"))
		json_object_set_new(out, "servers", json_object());
out:
	free(c.seen);
	if (loaded)
		yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	return out;
}
