/*
 * server.h - ecconfigd's event-loop side: the HTTPS listener (evhttp over
 * bufferevent_openssl, every connection TLS), connection limits and
 * timeouts, the route table dispatch, authentication and roles, query and
 * body checks, JSON replies, request logging and metrics, and the state
 * the loop keeps (head, views, users, tokens, watchers).
 *
 * Everything declared here runs on the event loop thread only.
 */
#ifndef ECD_SERVER_H
#define ECD_SERVER_H

#include <netinet/in.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "ecconfig.h"

struct ecd_pool;
struct ecd_cache;
struct ecd_map;
struct server_conn;

/* The head as the loop knows it; built on the writer (state.c) after
 * every commit and swapped in on the loop. */
struct ecd_view_rev {
	char *name;
	int64_t revision;
};

struct ecd_state {
	int64_t head;
	char commit[ECC_OID_HEX_LEN];
	struct ecc_topology *topology;   /* NULL: no (valid) topology file */
	struct ecd_view_rev *views;      /* "all" first, then subclusters */
	size_t nviews;
};

enum ecd_access {
	ECD_ANYONE = 0,       /* no authentication */
	ECD_TOKEN,            /* any valid token */
	ECD_READ,             /* service or admin */
	ECD_ADMIN,            /* admin only */
	ECD_SELF_OR_ADMIN,    /* admin, or the user named by params[0] */
	ECD_READ_OR_NODE,     /* service or admin, or a node whose
	                         subcluster is params[0] (its own view) */
	ECD_NODE_SELF,        /* the node named by params[0] */
};

enum ecd_body {
	ECD_BODY_NONE = 0,    /* a body, if any, is ignored */
	ECD_BODY_JSON,        /* parsed and checked against `fields` */
	ECD_BODY_RAW,         /* handed over as an evbuffer (ctx->raw) */
};

struct ecd_ctx;
typedef void (*ecd_handler)(struct ecd_ctx *ctx);

struct ecd_route {
	enum evhttp_cmd_type method;
	const char *pattern;  /* "/v1/users/{}/password": {} is one decoded
	                         component, a final "*" the decoded rest */
	ecd_handler handler;
	enum ecd_access access;
	enum ecd_body body;
	const struct ecc_jfield *fields;
};

#define ECD_MAX_PARAMS 4

/* One request, from dispatch to reply.  Freed by the ecd_reply_*
 * functions; a handler must call exactly one of them, now or later (the
 * evhttp request stays valid until then even if the client left). */
struct ecd_ctx {
	struct ecd_server *srv;
	struct evhttp_request *req;
	const struct ecd_route *route;
	char *params[ECD_MAX_PARAMS];
	size_t nparams;
	struct evkeyvalq query;
	json_t *body;                  /* ECD_BODY_JSON */
	struct evbuffer *raw;          /* ECD_BODY_RAW, owned */
	char *user;                    /* authenticated account (or node) */
	enum ecc_role role;            /* ECC_ROLE_NONE for a node */
	char *node;                    /* node authenticated by certificate */
	char *node_subcluster;
	char *token;
	char addr[INET6_ADDRSTRLEN + 8];
	uint64_t start_us;
	struct ecd_ctx *next_waiter;   /* snapshot cache and watch lists */
	int waiter_kind;
	void *aux;
};

enum ecd_commit_outcome {
	ECD_COMMIT_OK = 0,
	ECD_COMMIT_UNCHANGED,
	ECD_COMMIT_OUT_OF_DATE,
	ECD_COMMIT_REJECTED,
	ECD_COMMIT_INVALID,
	ECD_COMMIT_ERROR,
	ECD_COMMIT_NOUTCOMES,
};

#define ECD_COMMIT_BUCKETS 12

struct ecd_metrics {
	uint64_t http[600];            /* requests answered, by status */
	uint64_t commits[ECD_COMMIT_NOUTCOMES];
	uint64_t commit_buckets[ECD_COMMIT_BUCKETS];
	double commit_seconds_sum;
	uint64_t commit_seconds_count;
	uint64_t login_failures;
	uint64_t tls_failures;
	uint64_t snapshots_paced;      /* 429 from snapshot_rate */
};

/* What a node last reported (POST /v1/nodes/{name}/status). */
struct ecd_node_status {
	int64_t revision;
	char *result;
	char *message;
	json_t *drift;                 /* array of paths */
	int64_t last_contact;          /* epoch seconds */
};

/* A logged-in session. */
struct ecd_token {
	char *user;
	enum ecc_role role;
	uint64_t expires_ms;           /* ecc_now_ms() clock */
	int64_t expires;               /* epoch seconds */
};

struct ecd_server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	SSL_CTX *ssl_ctx;              /* for new connections */
	struct ecc_dconf *cfg;
	const char *config_path;
	struct ecc_limits limits;
	struct ecd_pool *pool;
	struct ecd_cache *cache;
	struct ecd_state *state;
	struct ecc_user *users;        /* copy of the store (hashes too) */
	size_t nusers;
	struct ecc_node *nodes;        /* copy of the enrolled nodes */
	size_t nnodes;
	struct ecd_map *node_status;   /* node -> struct ecd_node_status */
	char *dummy_hash;              /* verified for unknown users */
	struct ecd_map *tokens;        /* token -> struct ecd_token */
	struct ecd_map *login_fails;   /* "u:NAME" / "a:ADDR" -> counter */
	struct ecd_map *watchers;      /* view -> watch list (api-views.c) */
	size_t nwatchers;
	struct server_conn *conns;     /* every open connection */
	int64_t nconns;
	int accept_paused;
	int stopping;
	struct event *purge_ev;
	struct ecd_metrics metrics;
	int64_t logins_inflight;       /* password checks on the readers */
	struct ecd_cluster *cluster;   /* store = postgresql, else NULL */
	const char *self_name;         /* this manager's name */
	const char *self_address;      /* where it listens */
	/* snapshot pacing (api-views.c): tokens left in this second */
	uint64_t snap_second;
	int64_t snap_tokens;
};

/* Set up the listener on the bound, listening socket `fd` (owned from
 * now on) with TLS context `ctx` (owned) and the limits of srv->cfg.
 * The other members of `srv` are filled by the caller. */
int ecd_server_listen(struct ecd_server *srv, int fd, SSL_CTX *ctx);

/* Apply the limits of srv->cfg to the listener (after a reload). */
void ecd_server_apply_limits(struct ecd_server *srv);

/* Use `ctx` (owned) for new connections; existing ones keep theirs. */
void ecd_server_set_ssl_ctx(struct ecd_server *srv, SSL_CTX *ctx);

/* Stop accepting connections (shutdown). */
void ecd_server_stop_accepting(struct ecd_server *srv);

/* Free the listener and every connection, then the tables. */
void ecd_server_free(struct ecd_server *srv);

/* Swap in a new head state (owned); wakes watchers of views that
 * changed and updates the metrics. */
void ecd_server_set_state(struct ecd_server *srv, struct ecd_state *st);

/* Replace the loop's copy of the accounts (owned). */
void ecd_server_set_users(struct ecd_server *srv, struct ecc_user *users,
    size_t n);

/* The loop's copy of one account, or NULL. */
const struct ecc_user *ecd_server_user(const struct ecd_server *srv,
    const char *name);

/* Replace the loop's copy of the enrolled nodes (owned); the status of
 * nodes no longer enrolled is forgotten. */
void ecd_server_set_nodes(struct ecd_server *srv, struct ecc_node *nodes,
    size_t n);
/* The loop's copy of one enrolled node, or NULL. */
const struct ecc_node *ecd_server_node(const struct ecd_server *srv,
    const char *name);
void ecd_node_status_free(void *p);
/* Revoke the token whose SHA-256 is `key` (ctx->token), here and, in a
 * cluster, on every manager. */
void ecd_server_revoke_token(struct ecd_server *srv, const char *key);

/* The table of tokens is keyed by the tokens' SHA-256 (hex): add one
 * that expires at `expires` (epoch seconds; ignored if past), or drop
 * one, here only (cluster.c replicates tokens made elsewhere). */
void ecd_server_token_add(struct ecd_server *srv, const char *key,
    const char *user, enum ecc_role role, int64_t expires);
void ecd_server_token_drop(struct ecd_server *srv, const char *key);

/* Revoke every token of `user`. */
void ecd_server_revoke_user(struct ecd_server *srv, const char *user);

/* A new token for `user`; the hex text is copied to `out`.  ECC_EAGAIN
 * when the table is full. */
int ecd_server_token_new(struct ecd_server *srv, char out[ECC_TOKEN_HEX_LEN],
    const char *user, enum ecc_role role);

/* Login rate limiting, per account and per client address (names that
 * are no account share one bucket).  ecd_login_begin (`known`: the name
 * is an account) counts an attempt
 * from its arrival, so attempts sent in parallel meet the limit before
 * their passwords are checked: 0 means go ahead (then call
 * ecd_login_end exactly once), otherwise the seconds to wait (also when
 * the table of counters is full).  ecd_login_end records the outcome;
 * a success clears the account's failures. */
int64_t ecd_login_begin(struct ecd_server *srv, const char *user,
    int known, const char *addr);
/* ok: 1 success, 0 failure, -1 abandoned (not checked); `known` as
 * given to ecd_login_begin. */
void ecd_login_end(struct ecd_server *srv, const char *user, int known,
    const char *addr, int ok);

/* The view revision of `view` in the current state; -1 if no such
 * view. */
int64_t ecd_server_view_revision(const struct ecd_server *srv,
    const char *view);

/* Free a state (NULL ok). */
void ecd_state_free(struct ecd_state *st);

/* --- replies (each frees ctx) --- */

/* 2xx/4xx JSON reply; `body` is stolen. */
void ecd_reply_json(struct ecd_ctx *ctx, int status, json_t *body);

/* Error reply: `code` is the wire code ("invalid", "not_found", ...). */
void ecd_reply_error(struct ecd_ctx *ctx, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Error reply with the optional members: `paths` (out_of_date) and
 * `output` (rejected). */
void ecd_reply_error_full(struct ecd_ctx *ctx, int status, const char *code,
    const char *message, char *const *paths, size_t npaths,
    const char *output);

/* Error reply for an ECC_E* code, with `message` (NULL: the thread's
 * last error message). */
void ecd_reply_code(struct ecd_ctx *ctx, int ecc_code, const char *message);

/* Reply with the bytes of `buf` (moved out of it) and `content_type`. */
void ecd_reply_buffer(struct ecd_ctx *ctx, int status,
    const char *content_type, struct evbuffer *buf);

/* Reply without a body (204, 304). */
void ecd_reply_empty(struct ecd_ctx *ctx, int status);

/* Add a response header. */
void ecd_set_header(struct ecd_ctx *ctx, const char *name, const char *value);

/* A request header, or NULL. */
const char *ecd_get_header(struct ecd_ctx *ctx, const char *name);

/* Query parameter `name` as an integer in [min, max]; `def` when absent.
 * Returns 0, or -1 after replying 400 (ctx is then gone). */
int ecd_query_int(struct ecd_ctx *ctx, const char *name, int64_t min,
    int64_t max, int64_t def, int64_t *out);

/* Query parameter `name` (decoded), or NULL. */
const char *ecd_query_str(struct ecd_ctx *ctx, const char *name);

/* Query parameter `name` as a repository path (validated; "" allowed
 * when absent).  Returns 0, or -1 after replying 400. */
int ecd_query_path(struct ecd_ctx *ctx, const char *name, const char **out);

/* Map an ECC_E* code to the HTTP status and wire code. */
int ecd_status_of(int ecc_code, const char **wire_code);

/* Rate-limited warning for things a remote peer can trigger. */
void ecd_log_remote(int level, const char *area, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
