/*
 * apipath - the shapes of the JSON API's paths under /api/v1/
 *
 * See apipath.h.  Fixed prefixes are compared whole; the variable
 * pieces are copied with their lengths checked first, so no input can
 * write past name or item.
 */
#include "apipath.h"

#include <string.h>

#define DOMAINS "/api/v1/domains/"
#define QUAR	"quarantine/"

/* {id}/{sub} after "quarantine/": 0, or -1. */
static int quarantined(const char *id, struct api_path *out)
{
	const char *s2 = strchr(id, '/');

	if (s2 == NULL || s2 == id || (size_t)(s2 - id) > API_PATH_ITEM_MAX ||
	    s2[1] == '\0' || strchr(s2 + 1, '/') != NULL)
		return -1;
	memcpy(out->item, id, (size_t)(s2 - id));
	out->item[s2 - id] = '\0';
	out->sub = s2 + 1;
	out->shape = API_QUARANTINED;
	return 0;
}

int api_path_parse(const char *path, struct api_path *out)
{
	static const struct {
		const char *path;
		enum api_shape shape;
	} fixed[] = {
		{ "/api/v1/relays", API_RELAYS },
		{ "/api/v1/relays/addresses", API_RELAY_ADDRS },
		{ "/api/v1/domains", API_DOMAINS },
	};
	const char *rest, *slash;
	size_t i, n;

	out->name[0] = out->item[0] = '\0';
	out->sub = NULL;
	for (i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		if (strcmp(path, fixed[i].path) == 0) {
			out->shape = fixed[i].shape;
			return 0;
		}
	if (strncmp(path, DOMAINS, strlen(DOMAINS)) != 0)
		return -1;
	rest = path + strlen(DOMAINS);
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n == 0 || n > API_PATH_NAME_MAX)
		return -1;
	memcpy(out->name, rest, n);
	out->name[n] = '\0';
	if (slash == NULL) {
		out->shape = API_DOMAIN;
		return 0;
	}
	if (strncmp(slash + 1, QUAR, strlen(QUAR)) == 0)
		return quarantined(slash + 1 + strlen(QUAR), out);
	out->sub = slash + 1;
	if (*out->sub == '\0' || strchr(out->sub, '/') != NULL)
		return -1;
	out->shape = API_DOMAIN_SUB;
	return 0;
}

const char *api_path_template(enum api_shape shape)
{
	static const char *const base[] = {
		[API_DOMAINS] = "/api/v1/domains",
		[API_DOMAIN] = "/api/v1/domains/{name}",
		[API_DOMAIN_SUB] = "/api/v1/domains/{name}/",
		[API_RELAYS] = "/api/v1/relays",
		[API_RELAY_ADDRS] = "/api/v1/relays/addresses",
		[API_QUARANTINED] = "/api/v1/domains/{name}/quarantine/{id}/",
	};

	return base[shape];
}
