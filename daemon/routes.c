/*
 * routes.c - the one route table of the API (proto/API.md) and the
 * declared request bodies checked before a handler runs.
 */
#include "config.h"

#include <stdint.h>

#include "ecconfig.h"

#include "api.h"

const struct ecc_jfield ecd_login_fields[] = {
	{ "username", ECC_J_STRING, 1, 1, 32 },
	{ "password", ECC_J_STRING, 1, 1, 1024 },
	{ NULL, 0, 0, 0, 0 },
};

const struct ecc_jfield ecd_rollback_fields[] = {
	{ "revision", ECC_J_INT, 1, 0, INT64_MAX },
	{ "paths", ECC_J_ARRAY, 0, 1, 10000 },
	{ "message", ECC_J_STRING, 1, 0, 65536 },
	{ NULL, 0, 0, 0, 0 },
};

const struct ecc_jfield ecd_subcluster_fields[] = {
	{ "name", ECC_J_STRING, 1, 1, 63 },
	{ "copy_from", ECC_J_STRING, 0, 1, 63 },
	{ "message", ECC_J_STRING, 0, 0, 65536 },
	{ "base", ECC_J_INT, 0, 0, INT64_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const struct ecc_jfield ecd_user_create_fields[] = {
	{ "name", ECC_J_STRING, 1, 1, 32 },
	{ "password", ECC_J_STRING, 1, 1, 1024 },
	{ "role", ECC_J_STRING, 1, 1, 16 },
	{ NULL, 0, 0, 0, 0 },
};

const struct ecc_jfield ecd_password_fields[] = {
	{ "password", ECC_J_STRING, 1, 1, 1024 },
	{ NULL, 0, 0, 0, 0 },
};

#define GET    EVHTTP_REQ_GET
#define POST   EVHTTP_REQ_POST
#define PUT    EVHTTP_REQ_PUT
#define DELETE EVHTTP_REQ_DELETE

const struct ecd_route ecd_routes[] = {
	{ GET, "/v1/health", ecd_api_health, ECD_ANYONE, ECD_BODY_NONE,
	    NULL },
	{ GET, "/metrics", ecd_api_metrics, ECD_ANYONE, ECD_BODY_NONE, NULL },
	{ POST, "/v1/login", ecd_api_login, ECD_ANYONE, ECD_BODY_JSON,
	    ecd_login_fields },
	{ POST, "/v1/logout", ecd_api_logout, ECD_TOKEN, ECD_BODY_NONE,
	    NULL },
	{ GET, "/v1/revisions", ecd_api_revisions, ECD_READ, ECD_BODY_NONE,
	    NULL },
	{ GET, "/v1/revisions/{}", ecd_api_revision, ECD_READ, ECD_BODY_NONE,
	    NULL },
	{ GET, "/v1/diff", ecd_api_diff, ECD_READ, ECD_BODY_NONE, NULL },
	{ GET, "/v1/files/*", ecd_api_file, ECD_READ, ECD_BODY_NONE, NULL },
	{ GET, "/v1/tree", ecd_api_tree, ECD_READ, ECD_BODY_NONE, NULL },
	{ POST, "/v1/commits", ecd_api_commit, ECD_ADMIN, ECD_BODY_RAW,
	    NULL },
	{ POST, "/v1/rollback", ecd_api_rollback, ECD_ADMIN, ECD_BODY_JSON,
	    ecd_rollback_fields },
	{ GET, "/v1/views", ecd_api_views, ECD_READ, ECD_BODY_NONE, NULL },
	{ GET, "/v1/views/{}/snapshot", ecd_api_snapshot, ECD_READ_OR_NODE,
	    ECD_BODY_NONE, NULL },
	{ GET, "/v1/views/{}/manifest", ecd_api_manifest, ECD_READ_OR_NODE,
	    ECD_BODY_NONE, NULL },
	{ GET, "/v1/views/{}/watch", ecd_api_watch, ECD_READ_OR_NODE,
	    ECD_BODY_NONE, NULL },
	{ GET, "/v1/subclusters", ecd_api_subclusters, ECD_READ,
	    ECD_BODY_NONE, NULL },
	{ POST, "/v1/subclusters", ecd_api_subcluster_create, ECD_ADMIN,
	    ECD_BODY_JSON, ecd_subcluster_fields },
	{ GET, "/v1/users", ecd_api_users, ECD_ADMIN, ECD_BODY_NONE, NULL },
	{ POST, "/v1/users", ecd_api_user_create, ECD_ADMIN, ECD_BODY_JSON,
	    ecd_user_create_fields },
	{ PUT, "/v1/users/{}/password", ecd_api_user_password,
	    ECD_SELF_OR_ADMIN, ECD_BODY_JSON, ecd_password_fields },
	{ DELETE, "/v1/users/{}", ecd_api_user_delete, ECD_ADMIN,
	    ECD_BODY_NONE, NULL },
	{ GET, "/v1/nodes", ecd_api_nodes, ECD_READ, ECD_BODY_NONE, NULL },
	{ GET, "/v1/managers", ecd_api_managers, ECD_READ, ECD_BODY_NONE,
	    NULL },
	{ GET, "/v1/audit", ecd_api_audit, ECD_ADMIN, ECD_BODY_NONE, NULL },
	{ POST, "/v1/nodes/enroll", ecd_api_node_enroll, ECD_READ,
	    ECD_BODY_JSON, ecd_enroll_fields },
	{ POST, "/v1/nodes/{}/status", ecd_api_node_status, ECD_NODE_SELF,
	    ECD_BODY_JSON, ecd_node_status_fields },
	{ DELETE, "/v1/nodes/{}", ecd_api_node_delete, ECD_ADMIN,
	    ECD_BODY_NONE, NULL },
};

const size_t ecd_nroutes = ECC_ARRAY_SIZE(ecd_routes);
