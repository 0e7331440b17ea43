/*
 * server.c - the HTTPS listener and request dispatch (see server.h).
 *
 * Every connection is TLS: evhttp's bufferevent callback creates an
 * OpenSSL bufferevent in accepting state, so plain HTTP fails the
 * handshake and is closed.  Each connection carries a small record (kept
 * as SSL ex_data, so it is freed exactly when libevent frees the SSL)
 * used to count connections, enforce the request timeout from the first
 * byte (slowloris) and drain connections on shutdown.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>

#include "ecconfig.h"

#include "api.h"
#include "cluster.h"
#include "map.h"
#include "server.h"

#define TOKENS_MAX       100000
#define LOGIN_FAILS_MAX  100000
#define PURGE_INTERVAL   60
#define LOG_URI_MAX      256
#define BODY_SLACK       ((size_t)8 * 1024 * 1024)

struct server_conn {
	struct ecd_server *srv;
	struct server_conn *prev, *next;
	struct bufferevent *bev;
	struct event *timer;       /* request timeout while not busy */
	int busy;                  /* a request is being handled */
	int handshake_done;
	char addr[INET6_ADDRSTRLEN + 8];
};

struct login_fail {
	uint64_t start_ms;
	int64_t count;                 /* failures in the window */
	int64_t pending;               /* attempts being checked */
};

static int conn_index = -1;

/* --- logging --- */

void
ecd_log_remote(int level, const char *area, const char *fmt, ...)
{
	static uint64_t window_ms;
	static unsigned count, suppressed;
	uint64_t now = ecc_now_ms();
	va_list ap;

	if (!ecc_log_is_enabled(level))
		return;
	if (now - window_ms >= 60000) {
		if (suppressed)
			ecc_log(level, area, "%u similar messages suppressed",
			    suppressed);
		window_ms = now;
		count = 0;
		suppressed = 0;
	}
	if (++count > 20) {
		suppressed++;
		return;
	}
	va_start(ap, fmt);
	ecc_logv(level, area, fmt, ap);
	va_end(ap);
}

/* --- connections --- */

static void
conn_close(struct server_conn *conn)
{
	evutil_socket_t fd = bufferevent_getfd(conn->bev);

	/* The read side sees EOF and evhttp frees the connection. */
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_conn *conn = arg;

	(void)fd;
	(void)what;
	ecc_log_debug("http", "closing connection from %s: no complete "
	    "request within %" PRId64 " s", conn->addr[0] ? conn->addr : "?",
	    conn->srv->cfg->request_timeout);
	conn_close(conn);
}

static void
conn_arm(struct server_conn *conn)
{
	struct timeval tv = { (time_t)conn->srv->cfg->request_timeout, 0 };

	conn->busy = 0;
	if (conn->srv->stopping) {
		conn_close(conn);
		return;
	}
	evtimer_add(conn->timer, &tv);
}

static void
server_resume_accept(struct ecd_server *srv)
{
	if (srv->accept_paused && srv->bound &&
	    srv->nconns < srv->cfg->max_connections) {
		evconnlistener_enable(evhttp_bound_socket_get_listener(
		    srv->bound));
		srv->accept_paused = 0;
		ecd_log_remote(LOG_NOTICE, "http", "accepting connections again "
		    "(%" PRId64 " open)", srv->nconns);
	}
}

/* SSL ex_data destructor: the connection is gone. */
static void
conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct server_conn *conn = ptr;
	struct ecd_server *srv;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!conn)
		return;
	srv = conn->srv;
	if (!conn->handshake_done) {
		srv->metrics.tls_failures++;
		ecd_log_remote(LOG_INFO, "tls", "connection from %s closed "
		    "before the TLS handshake completed",
		    conn->addr[0] ? conn->addr : "unknown address");
	}
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	event_free(conn->timer);
	srv->nconns--;
	server_resume_accept(srv);
	free(conn);
}

static void
conn_peer_name(struct server_conn *conn, const SSL *ssl)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int fd = SSL_get_fd(ssl);

	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    host, sizeof(host));
		snprintf(conn->addr, sizeof(conn->addr), "%s", host);
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, sizeof(host));
		snprintf(conn->addr, sizeof(conn->addr), "%s", host);
	}
}

static void
conn_info_cb(const SSL *ssl, int where, int ret)
{
	struct server_conn *conn = SSL_get_ex_data(ssl, conn_index);
	unsigned long e;
	char buf[512], one[256];
	size_t len;

	if (!conn)
		return;
	if ((where & SSL_CB_HANDSHAKE_START) && !conn->addr[0])
		conn_peer_name(conn, ssl);
	if (where & SSL_CB_HANDSHAKE_DONE)
		conn->handshake_done = 1;
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE) &&
	    strcmp(SSL_alert_type_string(ret), "F") == 0) {
		/* Drain OpenSSL's queue into this one line. */
		buf[0] = '\0';
		while ((e = ERR_get_error()) != 0) {
			ERR_error_string_n(e, one, sizeof(one));
			len = strlen(buf);
			snprintf(buf + len, sizeof(buf) - len, "%s%s",
			    len ? "; " : "", one);
		}
		if (!buf[0])
			snprintf(buf, sizeof(buf), "no detail");
		/* After the handshake, a fatal alert is most often a client
		 * that closed without a TLS shutdown once it had its reply:
		 * not worth an operator's attention. */
		if (conn->handshake_done)
			ecc_log_debug("tls", "TLS connection from %s ended: %s "
			    "(%s)", conn->addr[0] ? conn->addr : "?",
			    SSL_alert_desc_string_long(ret), buf);
		else
			ecd_log_remote(LOG_INFO, "tls", "TLS handshake with %s "
			    "failed: %s (%s)", conn->addr[0] ? conn->addr : "?",
			    SSL_alert_desc_string_long(ret), buf);
	}
}

static struct bufferevent *
server_bevcb(struct event_base *base, void *arg)
{
	struct ecd_server *srv = arg;
	struct server_conn *conn = ecc_calloc(1, sizeof(*conn));
	struct bufferevent *bev;
	SSL *ssl;

	/* Returning NULL would make evhttp fall back to plain TCP, so
	 * exhaustion here is fatal like any other allocation failure. */
	if (!(ssl = SSL_new(srv->ssl_ctx))) {
		ecc_error_set_ssl(ECC_ENOMEM, "SSL_new");
		ecc_log(LOG_CRIT, "tls", "%s", ecc_error_last());
		abort();
	}
	conn->srv = srv;
	SSL_set_ex_data(ssl, conn_index, conn);
	SSL_set_info_callback(ssl, conn_info_cb);
	conn->timer = evtimer_new(base, conn_timer_cb, conn);
	if (!conn->timer)
		abort();
	conn->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = conn;
	srv->conns = conn;
	srv->nconns++;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		ecc_log(LOG_CRIT, "tls", "cannot create a TLS bufferevent");
		abort();
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	conn->bev = bev;
	conn_arm(conn);
	if (srv->nconns >= srv->cfg->max_connections && !srv->accept_paused &&
	    srv->bound) {
		evconnlistener_disable(evhttp_bound_socket_get_listener(
		    srv->bound));
		srv->accept_paused = 1;
		ecd_log_remote(LOG_WARNING, "http", "max_connections (%" PRId64
		    ") reached: not accepting until one closes",
		    srv->cfg->max_connections);
	}
	return bev;
}

static struct server_conn *
conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;

	if (!evcon || !(bev = evhttp_connection_get_bufferevent(evcon)))
		return NULL;
	if (!(ssl = bufferevent_openssl_get_ssl(bev)))
		return NULL;
	return SSL_get_ex_data(ssl, conn_index);
}

/* --- replies --- */

static const char *
status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return NULL;
	}
}

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

static void
ctx_free(struct ecd_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nparams; i++)
		free(ctx->params[i]);
	evhttp_clear_headers(&ctx->query);
	json_decref(ctx->body);
	if (ctx->raw)
		evbuffer_free(ctx->raw);
	free(ctx->user);
	free(ctx->token);
	free(ctx->node);
	free(ctx->node_subcluster);
	free(ctx);
}

static void
reply_complete_cb(struct evhttp_request *req, void *arg)
{
	struct server_conn *conn = conn_of(req);

	(void)arg;
	if (conn)
		conn_arm(conn);
}

static void
ctx_finish(struct ecd_ctx *ctx, int status, const char *content_type,
    struct evbuffer *body)
{
	struct ecd_server *srv = ctx->srv;
	struct evhttp_request *req = ctx->req;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *uri = evhttp_request_get_uri(req);
	uint64_t ms = (ecc_now_us() - ctx->start_us) / 1000;

	if (ecc_log_is_enabled(LOG_INFO))
		ecc_log_info("http", "%s %.*s%s %d %" PRIu64 "ms user=%s "
		    "addr=%s", method_name(evhttp_request_get_command(req)),
		    LOG_URI_MAX, uri ? uri : "?",
		    uri && strlen(uri) > LOG_URI_MAX ? "..." : "", status, ms,
		    ctx->user ? ctx->user : "-", ctx->addr);
	if (status >= 100 && status < 600)
		srv->metrics.http[status]++;
	if (content_type)
		evhttp_add_header(out, "Content-Type", content_type);
	if (srv->stopping)
		evhttp_add_header(out, "Connection", "close");
	evhttp_request_set_on_complete_cb(req, reply_complete_cb, srv);
	evhttp_send_reply(req, status, status_reason(status), body);
	ctx_free(ctx);
}

static void
free_cleanup(const void *data, size_t len, void *extra)
{
	(void)len;
	(void)extra;
	free((void *)data);
}

void
ecd_reply_json(struct ecd_ctx *ctx, int status, json_t *body)
{
	struct evbuffer *buf;
	char *text;
	size_t len;

	if (!body) {
		/* json_pack refused a value (not UTF-8): a bug or bad data. */
		ecc_log_err("http", "%s: cannot encode the reply as JSON",
		    ctx->route ? ctx->route->pattern : "?");
		ecd_reply_error(ctx, 500, "internal", "cannot encode the reply "
		    "as JSON");
		return;
	}
	buf = evbuffer_new();
	text = ecc_json_dump(body);
	len = strlen(text);
	json_decref(body);
	if (!buf)
		abort();
	/* Keep the newline out of the reference so `text` is freed whole. */
	evbuffer_add_reference(buf, text, len, free_cleanup, NULL);
	evbuffer_add(buf, "\n", 1);
	ctx_finish(ctx, status, "application/json; charset=utf-8", buf);
	evbuffer_free(buf);
}

void
ecd_reply_error_full(struct ecd_ctx *ctx, int status, const char *code,
    const char *message, char *const *paths, size_t npaths,
    const char *output)
{
	json_t *err = json_object(), *arr;
	size_t i;

	json_object_set_new(err, "code", json_string(code));
	json_object_set_new(err, "message", json_string(message && *message ?
	    message : code));
	if (paths && npaths) {
		arr = json_array();
		for (i = 0; i < npaths; i++)
			json_array_append_new(arr, json_string(paths[i]));
		json_object_set_new(err, "paths", arr);
	}
	if (output)
		json_object_set_new(err, "output", json_string(output));
	if (status == 401)
		ecd_set_header(ctx, "WWW-Authenticate", "Bearer");
	ecd_reply_json(ctx, status, json_pack("{s:o}", "error", err));
}

void
ecd_reply_error(struct ecd_ctx *ctx, int status, const char *code,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ecd_reply_error_full(ctx, status, code, msg, NULL, 0,
	    strcmp(code, "rejected") == 0 ? "" : NULL);
}

int
ecd_status_of(int ecc_code, const char **wire_code)
{
	static const struct {
		int code;
		int status;
		const char *wire;
	} map[] = {
		{ ECC_EINVALID, 400, "invalid" },
		{ ECC_EAUTH, 401, "unauthorized" },
		{ ECC_EFORBIDDEN, 403, "forbidden" },
		{ ECC_ENOTFOUND, 404, "not_found" },
		{ ECC_ECONFLICT, 409, "out_of_date" },
		{ ECC_EEXISTS, 409, "exists" },
		{ ECC_ETOOBIG, 413, "too_large" },
		{ ECC_EREJECTED, 422, "rejected" },
		{ ECC_EAGAIN, 429, "try_again" },
		{ ECC_EUNAVAIL, 503, "unavailable" },
	};
	size_t i;

	for (i = 0; i < ECC_ARRAY_SIZE(map); i++) {
		if (map[i].code == ecc_code) {
			*wire_code = map[i].wire;
			return map[i].status;
		}
	}
	*wire_code = "internal";
	return 500;
}

void
ecd_reply_code(struct ecd_ctx *ctx, int ecc_code, const char *message)
{
	const char *wire;
	int status = ecd_status_of(ecc_code, &wire);

	if (!message)
		message = ecc_error_last();
	if (status == 500)
		ecc_log_err("http", "%s: internal error: %s",
		    ctx->route ? ctx->route->pattern : "?", message);
	if (status == 503)
		ecd_set_header(ctx, "Retry-After", "1");
	else if (status == 429)
		ecd_set_header(ctx, "Retry-After", "5");
	ecd_reply_error_full(ctx, status, wire, message, NULL, 0,
	    status == 422 ? "" : NULL);
}

void
ecd_reply_buffer(struct ecd_ctx *ctx, int status, const char *content_type,
    struct evbuffer *buf)
{
	ctx_finish(ctx, status, content_type, buf);
}

void
ecd_reply_empty(struct ecd_ctx *ctx, int status)
{
	ctx_finish(ctx, status, NULL, NULL);
}

void
ecd_set_header(struct ecd_ctx *ctx, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(ctx->req), name,
	    value);
}

const char *
ecd_get_header(struct ecd_ctx *ctx, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
	    name);
}

/* --- query --- */

const char *
ecd_query_str(struct ecd_ctx *ctx, const char *name)
{
	return evhttp_find_header(&ctx->query, name);
}

int
ecd_query_int(struct ecd_ctx *ctx, const char *name, int64_t min,
    int64_t max, int64_t def, int64_t *out)
{
	const char *v = ecd_query_str(ctx, name);

	if (!v) {
		*out = def;
		return 0;
	}
	if (ecc_parse_int64(out, v, min, max) < 0) {
		ecd_reply_error(ctx, 400, "invalid", "query parameter '%s' must "
		    "be an integer in %" PRId64 "..%" PRId64, name, min, max);
		return -1;
	}
	return 0;
}

int
ecd_query_path(struct ecd_ctx *ctx, const char *name, const char **out)
{
	const char *v = ecd_query_str(ctx, name);

	*out = "";
	if (!v || !*v)
		return 0;
	if (ecc_path_validate(v, &ctx->srv->limits) < 0) {
		ecd_reply_error(ctx, 400, "invalid", "query parameter '%s': %s",
		    name, ecc_error_last());
		return -1;
	}
	*out = v;
	return 0;
}

/* --- tokens and login failures --- */

static void
token_free(void *p)
{
	struct ecd_token *t = p;

	if (t) {
		free(t->user);
		free(t);
	}
}

static int
token_purge_cb(const char *key, void *value, void *payload)
{
	struct ecd_token *t = value;
	uint64_t now = *(uint64_t *)payload;

	(void)key;
	if (t->expires_ms > now)
		return 0;
	token_free(t);
	return 1;
}

struct fail_purge {
	uint64_t now;
	uint64_t window_ms;
};

static int
fail_purge_cb(const char *key, void *value, void *payload)
{
	struct login_fail *f = value;
	struct fail_purge *fp = payload;

	(void)key;
	if (f->pending > 0 || fp->now - f->start_ms < fp->window_ms)
		return 0;
	free(f);
	return 1;
}

static void
server_purge(struct ecd_server *srv)
{
	struct fail_purge fp;
	uint64_t now = ecc_now_ms();

	ecd_map_foreach(srv->tokens, token_purge_cb, &now);
	fp.now = now;
	fp.window_ms = (uint64_t)srv->cfg->login_window * 1000;
	ecd_map_foreach(srv->login_fails, fail_purge_cb, &fp);
}

static void
server_purge_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_purge(arg);
}

int
ecd_server_token_new(struct ecd_server *srv, char out[ECC_TOKEN_HEX_LEN],
    const char *user, enum ecc_role role)
{
	char key[ECC_SHA256_HEX_LEN];
	int64_t expires;
	int error;

	if (ecd_map_count(srv->tokens) >= TOKENS_MAX)
		server_purge(srv);
	if (ecd_map_count(srv->tokens) >= TOKENS_MAX)
		return ecc_error_set(ECC_EAGAIN, "too many sessions (%d); "
		    "try again later", TOKENS_MAX);
	if ((error = ecc_token_new(out)) < 0)
		return error;
	/* Kept by hash: the table (and, in a cluster, the database) never
	 * holds a usable token. */
	ecc_sha256_hex(key, out, strlen(out));
	expires = (int64_t)time(NULL) + srv->cfg->token_ttl;
	ecd_server_token_add(srv, key, user, role, expires);
	ecd_cluster_put_token(srv->cluster, key, user, role, expires);
	return 0;
}

void
ecd_server_token_add(struct ecd_server *srv, const char *key,
    const char *user, enum ecc_role role, int64_t expires)
{
	struct ecd_token *t;
	int64_t left = expires - (int64_t)time(NULL);

	if (left <= 0 || ecd_map_count(srv->tokens) >= TOKENS_MAX)
		return;
	t = ecc_calloc(1, sizeof(*t));
	t->user = ecc_strdup(user);
	t->role = role;
	t->expires = expires;
	t->expires_ms = ecc_now_ms() + (uint64_t)left * 1000;
	token_free(ecd_map_put(srv->tokens, key, t));
}

void
ecd_server_token_drop(struct ecd_server *srv, const char *key)
{
	if (key)
		token_free(ecd_map_remove(srv->tokens, key));
}

void
ecd_server_revoke_token(struct ecd_server *srv, const char *key)
{
	ecd_server_token_drop(srv, key);
	if (key)
		ecd_cluster_drop_tokens(srv->cluster, key, NULL);
}

struct revoke_arg {
	const char *user;
	size_t n;
};

static int
token_revoke_cb(const char *key, void *value, void *payload)
{
	struct ecd_token *t = value;
	struct revoke_arg *ra = payload;

	(void)key;
	if (strcmp(t->user, ra->user) != 0)
		return 0;
	token_free(t);
	ra->n++;
	return 1;
}

static void
token_revoke_local(struct ecd_server *srv, const char *user)
{
	struct revoke_arg ra = { user, 0 };

	ecd_map_foreach(srv->tokens, token_revoke_cb, &ra);
	if (ra.n)
		ecc_log_info("auth", "revoked %zu token(s) of %s", ra.n, user);
}

void
ecd_server_revoke_user(struct ecd_server *srv, const char *user)
{
	token_revoke_local(srv, user);
	ecd_cluster_drop_tokens(srv->cluster, NULL, user);
}

/* The per-account key: names that are no account share one bucket, so
 * spraying invented names cannot fill the table. */
static void
login_user_key(char *key, size_t size, const char *user, int known)
{
	if (user && known)
		snprintf(key, size, "u:%s", user);
	else
		snprintf(key, size, "u:");
}

static int64_t
login_wait(struct ecd_server *srv, const char *key, uint64_t now)
{
	struct login_fail *f = ecd_map_get(srv->login_fails, key);
	uint64_t window = (uint64_t)srv->cfg->login_window * 1000;

	if (!f || (now - f->start_ms >= window && f->pending == 0) ||
	    (now - f->start_ms < window ? f->count : 0) + f->pending <
	    srv->cfg->login_failures)
		return 0;
	if (now - f->start_ms >= window)
		return 1;               /* only attempts in flight: soon */
	return (int64_t)((f->start_ms + window - now + 999) / 1000);
}

/* The record for `key`, made if needed; NULL when the table is full even
 * after dropping expired records. */
static struct login_fail *
login_record(struct ecd_server *srv, const char *key, uint64_t now)
{
	struct login_fail *f = ecd_map_get(srv->login_fails, key);
	uint64_t window = (uint64_t)srv->cfg->login_window * 1000;

	if (!f) {
		if (ecd_map_count(srv->login_fails) >= LOGIN_FAILS_MAX)
			server_purge(srv);
		if (ecd_map_count(srv->login_fails) >= LOGIN_FAILS_MAX)
			return NULL;
		f = ecc_calloc(1, sizeof(*f));
		f->start_ms = now;
		ecd_map_put(srv->login_fails, key, f);
	}
	if (now - f->start_ms >= window) {
		f->start_ms = now;
		f->count = 0;
	}
	return f;
}

int64_t
ecd_login_begin(struct ecd_server *srv, const char *user, int known,
    const char *addr)
{
	char ukey[320], akey[320];
	uint64_t now = ecc_now_ms();
	struct login_fail *fu, *fa;
	int64_t a, b;

	login_user_key(ukey, sizeof(ukey), user, known);
	snprintf(akey, sizeof(akey), "a:%s", addr);
	a = login_wait(srv, ukey, now);
	b = login_wait(srv, akey, now);
	if (a > 0 || b > 0)
		return a > b ? a : b;
	/* Counted from now, so attempts sent in parallel meet the limit
	 * before their passwords are checked; a full table refuses. */
	if (!(fu = login_record(srv, ukey, now)) ||
	    !(fa = login_record(srv, akey, now)))
		return (int64_t)srv->cfg->login_window;
	fu->pending++;
	fa->pending++;
	return 0;
}

void
ecd_login_end(struct ecd_server *srv, const char *user, int known,
    const char *addr, int ok)
{
	char ukey[320], akey[320];
	uint64_t now = ecc_now_ms();
	struct login_fail *f;

	login_user_key(ukey, sizeof(ukey), user, known);
	snprintf(akey, sizeof(akey), "a:%s", addr);
	if ((f = ecd_map_get(srv->login_fails, ukey)) && f->pending > 0)
		f->pending--;
	if ((f = ecd_map_get(srv->login_fails, akey)) && f->pending > 0)
		f->pending--;
	if (ok < 0)
		return;                 /* abandoned: not an outcome */
	if (ok) {
		if ((f = ecd_map_get(srv->login_fails, ukey)) &&
		    f->pending == 0)
			free(ecd_map_remove(srv->login_fails, ukey));
		return;
	}
	srv->metrics.login_failures++;
	if ((f = login_record(srv, ukey, now)))
		f->count++;
	if ((f = login_record(srv, akey, now)))
		f->count++;
}

/* --- state and users --- */

void
ecd_state_free(struct ecd_state *st)
{
	size_t i;

	if (!st)
		return;
	ecc_topology_free(st->topology);
	for (i = 0; i < st->nviews; i++)
		free(st->views[i].name);
	free(st->views);
	free(st);
}

int64_t
ecd_server_view_revision(const struct ecd_server *srv, const char *view)
{
	size_t i;

	if (!srv->state)
		return -1;
	for (i = 0; i < srv->state->nviews; i++)
		if (strcmp(srv->state->views[i].name, view) == 0)
			return srv->state->views[i].revision;
	return -1;
}

void
ecd_server_set_state(struct ecd_server *srv, struct ecd_state *st)
{
	struct ecd_state *old = srv->state;

	srv->state = st;
	if (!old || old->head != st->head)
		ecc_log_debug("repo", "head is r%" PRId64 " (%s)", st->head,
		    st->commit);
	ecd_watch_notify(srv, old);
	ecd_state_free(old);
}

void
ecd_server_set_users(struct ecd_server *srv, struct ecc_user *users,
    size_t n)
{
	size_t i, j;

	/* An account removed, or whose password or role changed (here or
	 * through another manager), loses its sessions. */
	for (i = 0; i < srv->nusers; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(srv->users[i].name, users[j].name) == 0)
				break;
		if (j == n || strcmp(srv->users[i].hash, users[j].hash) != 0 ||
		    srv->users[i].role != users[j].role)
			token_revoke_local(srv, srv->users[i].name);
	}
	ecc_user_array_free(srv->users, srv->nusers);
	srv->users = users;
	srv->nusers = n;
}

const struct ecc_user *
ecd_server_user(const struct ecd_server *srv, const char *name)
{
	size_t i;

	for (i = 0; i < srv->nusers; i++)
		if (strcmp(srv->users[i].name, name) == 0)
			return &srv->users[i];
	return NULL;
}

void
ecd_node_status_free(void *p)
{
	struct ecd_node_status *ns = p;

	if (!ns)
		return;
	free(ns->result);
	free(ns->message);
	json_decref(ns->drift);
	free(ns);
}

/* Forget the status of a node no longer enrolled. */
static int
status_sweep_cb(const char *key, void *value, void *payload)
{
	if (ecd_server_node(payload, key))
		return 0;
	ecd_node_status_free(value);
	return 1;
}

static int
node_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ecc_node *)a)->name,
	    ((const struct ecc_node *)b)->name);
}

void
ecd_server_set_nodes(struct ecd_server *srv, struct ecc_node *nodes,
    size_t n)
{
	/* Sorted here (byte order, whatever the store's collation), so
	 * that every node request finds its record by bisection. */
	if (n > 1)
		qsort(nodes, n, sizeof(*nodes), node_name_cmp);
	ecc_node_array_free(srv->nodes, srv->nnodes);
	srv->nodes = nodes;
	srv->nnodes = n;
	if (srv->node_status)
		ecd_map_foreach(srv->node_status, status_sweep_cb, srv);
}

const struct ecc_node *
ecd_server_node(const struct ecd_server *srv, const char *name)
{
	struct ecc_node key;

	if (!srv->nodes || srv->nnodes == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = (char *)name;
	return bsearch(&key, srv->nodes, srv->nnodes, sizeof(*srv->nodes),
	    node_name_cmp);
}

/* --- dispatch --- */

/* Decode one percent-encoded path component; NULL if it holds a NUL
 * byte or is empty. */
static char *
decode_component(const char *s, size_t len)
{
	char *raw = ecc_strndup(s, len), *dec;
	size_t n = 0;

	dec = evhttp_uridecode(raw, 0, &n);
	free(raw);
	if (!dec)
		abort();
	if (n == 0 || strlen(dec) != n) {
		free(dec);
		return NULL;
	}
	raw = ecc_strdup(dec);
	free(dec);
	return raw;
}

/* 1 when `path` matches `pattern` (params filled), 0 when not, -1 when
 * it matches but a component is not decodable. */
static int
route_match(const char *pattern, const char *path, char **params,
    size_t *nparams)
{
	const char *p = pattern, *u = path, *pe, *ue;
	char *dec, *rest;
	size_t n = 0;
	int bad = 0;

	*nparams = 0;
	while (*p && *u) {
		if (*p != '/' || *u != '/')
			goto nomatch;
		p++;
		u++;
		pe = strchr(p, '/');
		ue = strchr(u, '/');
		if (!pe)
			pe = p + strlen(p);
		if (!ue)
			ue = u + strlen(u);
		if (pe - p == 1 && *p == '*' && !*pe) {
			/* The rest, decoded component by component. */
			if (!*u)
				goto nomatch;
			rest = NULL;
			for (;;) {
				ue = strchr(u, '/');
				if (!ue)
					ue = u + strlen(u);
				if (!(dec = decode_component(u, (size_t)(ue - u))))
					bad = 1;
				else if (!rest)
					rest = dec;
				else {
					char *j = ecc_printf("%s/%s", rest, dec);

					free(rest);
					free(dec);
					rest = j;
				}
				if (!*ue)
					break;
				u = ue + 1;
			}
			if (bad) {
				free(rest);
				goto bad;
			}
			params[n++] = rest;
			*nparams = n;
			return 1;
		}
		if (pe - p == 2 && p[0] == '{' && p[1] == '}') {
			if (ue == u || n >= ECD_MAX_PARAMS)
				goto nomatch;
			if (!(dec = decode_component(u, (size_t)(ue - u))) ||
			    strchr(dec, '/')) {
				free(dec);
				bad = 1;
			} else {
				params[n++] = dec;
			}
		} else if (pe - p != ue - u || strncmp(p, u, (size_t)(pe - p))) {
			goto nomatch;
		}
		p = pe;
		u = ue;
	}
	if (*p || *u)
		goto nomatch;
	if (bad)
		goto bad;
	*nparams = n;
	return 1;
bad:
	while (n > 0)
		free(params[--n]);
	return -1;
nomatch:
	while (n > 0)
		free(params[--n]);
	return 0;
}

static size_t
request_header_bytes(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	const char *uri = evhttp_request_get_uri(req);
	size_t n = uri ? strlen(uri) + 16 : 16;

	TAILQ_FOREACH(kv, h, next)
		n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

static int
content_type_is_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (!ct)
		return 1;       /* lenient: no type means JSON */
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The verified client certificate of the request's connection, or
 * NULL. */
static X509 *
request_peer_cert(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;
	X509 *x;

	if (!evcon || !(bev = evhttp_connection_get_bufferevent(evcon)) ||
	    !(ssl = bufferevent_openssl_get_ssl(bev)))
		return NULL;
	if (!(x = SSL_get0_peer_certificate(ssl)) ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	return x;
}

/* A request without a token but with a client certificate: the node
 * must be enrolled in the loop's table with that certificate's serial
 * and subcluster. */
static int
server_authenticate_node(struct ecd_ctx *ctx, X509 *x)
{
	const struct ecc_node *n;
	char *node = NULL, *sc = NULL, *serial = NULL;
	int error = -1;

	if (ecc_pki_cert_node(&node, &sc, x) < 0 ||
	    ecc_pki_cert_serial(&serial, x) < 0) {
		ecd_reply_error(ctx, 401, "unauthorized", "client "
		    "certificate: %s", ecc_error_last());
		goto out;
	}
	if (!(n = ecd_server_node(ctx->srv, node))) {
		ecd_reply_error(ctx, 401, "unauthorized", "node %s is not "
		    "enrolled", node);
		goto out;
	}
	if (strcmp(n->serial, serial) != 0 || strcmp(n->subcluster, sc) != 0) {
		ecd_log_remote(LOG_NOTICE, "auth", "node %s from %s: "
		    "certificate %s revoked", node, ctx->addr, serial);
		ecd_reply_error(ctx, 401, "unauthorized", "node %s: "
		    "certificate revoked", node);
		goto out;
	}
	ctx->user = ecc_strdup(node);
	ctx->role = ECC_ROLE_NONE;
	ctx->node = node;
	ctx->node_subcluster = sc;
	node = sc = NULL;
	error = 0;
out:
	free(node);
	free(sc);
	free(serial);
	return error;
}

static int
server_authenticate(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	const char *h = ecd_get_header(ctx, "Authorization");
	char key[ECC_SHA256_HEX_LEN];
	struct ecd_token *t;
	X509 *x;

	if (!h && (x = request_peer_cert(ctx->req)) != NULL)
		return server_authenticate_node(ctx, x);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		ecd_reply_error(ctx, 401, "unauthorized", "authentication "
		    "required: send 'Authorization: Bearer TOKEN' (POST "
		    "/v1/login)");
		return -1;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (strlen(h) == ECC_TOKEN_HEX_LEN - 1)
		ecc_sha256_hex(key, h, strlen(h));
	if (strlen(h) != ECC_TOKEN_HEX_LEN - 1 ||
	    !(t = ecd_map_get(srv->tokens, key))) {
		ecd_reply_error(ctx, 401, "unauthorized", "unknown or revoked "
		    "token; log in again");
		return -1;
	}
	if (t->expires_ms <= ecc_now_ms()) {
		ecd_server_token_drop(srv, key);
		ecd_reply_error(ctx, 401, "unauthorized", "token expired; log "
		    "in again");
		return -1;
	}
	ctx->user = ecc_strdup(t->user);
	ctx->role = t->role;
	ctx->token = ecc_strdup(key);
	return 0;
}

static int
server_authorize(struct ecd_ctx *ctx)
{
	if (ctx->node) {
		if (ctx->route->access == ECD_ANYONE ||
		    (ctx->route->access == ECD_READ_OR_NODE &&
		    ctx->nparams > 0 &&
		    strcmp(ctx->params[0], ctx->node_subcluster) == 0) ||
		    (ctx->route->access == ECD_NODE_SELF && ctx->nparams > 0 &&
		    strcmp(ctx->params[0], ctx->node) == 0))
			return 0;
		ecd_reply_error(ctx, 403, "forbidden", "node %s may only read "
		    "view %s and report its own status (not %s %s)",
		    ctx->node, ctx->node_subcluster,
		    method_name(ctx->route->method),
		    evhttp_request_get_uri(ctx->req));
		return -1;
	}
	switch (ctx->route->access) {
	case ECD_ANYONE:
	case ECD_TOKEN:
		return 0;
	case ECD_READ:
	case ECD_READ_OR_NODE:
		if (ctx->role == ECC_ROLE_ADMIN || ctx->role == ECC_ROLE_SERVICE)
			return 0;
		break;
	case ECD_ADMIN:
		if (ctx->role == ECC_ROLE_ADMIN)
			return 0;
		break;
	case ECD_SELF_OR_ADMIN:
		if (ctx->role == ECC_ROLE_ADMIN || (ctx->nparams > 0 &&
		    strcmp(ctx->params[0], ctx->user) == 0))
			return 0;
		break;
	case ECD_NODE_SELF:
		ecd_reply_error(ctx, 403, "forbidden", "%s %s is for nodes "
		    "(client certificate) only",
		    method_name(ctx->route->method), ctx->route->pattern);
		return -1;
	}
	ecd_reply_error(ctx, 403, "forbidden", "%s %s needs the admin role "
	    "(%s has the %s role)", method_name(ctx->route->method),
	    ctx->route->pattern, ctx->user, ecc_role_name(ctx->role));
	return -1;
}

static int
server_read_body(struct ecd_ctx *ctx)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(ctx->req);
	size_t len = evbuffer_get_length(in);
	const char *data;
	json_t *body = NULL;

	if (ctx->route->body == ECD_BODY_NONE)
		return 0;
	if (!content_type_is_json(ecd_get_header(ctx, "Content-Type"))) {
		ecd_reply_error(ctx, 415, "unsupported_media_type", "the request "
		    "body must be application/json");
		return -1;
	}
	if (len == 0) {
		ecd_reply_error(ctx, 400, "invalid", "a JSON request body is "
		    "required");
		return -1;
	}
	if (len > ctx->srv->cfg->max_body) {
		ecd_reply_error(ctx, 413, "too_large", "request body larger "
		    "than max_body (%zu bytes)", ctx->srv->cfg->max_body);
		return -1;
	}
	if (ctx->route->body == ECD_BODY_RAW) {
		if (!(ctx->raw = evbuffer_new()))
			abort();
		evbuffer_add_buffer(ctx->raw, in);
		return 0;
	}
	data = (const char *)evbuffer_pullup(in, -1);
	if (ecc_json_parse(&body, data, len, ctx->srv->limits.max_json_depth)
	    < 0) {
		ecd_reply_error(ctx, 400, "invalid", "request body: %s",
		    ecc_error_last());
		return -1;
	}
	if (ctx->route->fields && ecc_json_check(body, ctx->route->fields)
	    < 0) {
		json_decref(body);
		ecd_reply_error(ctx, 400, "invalid", "request body: %s",
		    ecc_error_last());
		return -1;
	}
	ctx->body = body;
	return 0;
}

static void
server_handle(struct evhttp_request *req, void *arg)
{
	struct ecd_server *srv = arg;
	struct ecd_ctx *ctx = ecc_calloc(1, sizeof(*ctx));
	struct server_conn *conn = conn_of(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const char *path, *query;
	const struct ecd_route *r, *found = NULL;
	char allow[128] = "";
	char *params[ECD_MAX_PARAMS];
	size_t i, nparams;
	int m, path_known = 0;
	char *peer = NULL;
	ev_uint16_t port = 0;

	ctx->srv = srv;
	ctx->req = req;
	ctx->start_us = ecc_now_us();
	TAILQ_INIT(&ctx->query);
	if (evcon) {
		evhttp_connection_get_peer(evcon, &peer, &port);
		snprintf(ctx->addr, sizeof(ctx->addr), "%s", peer ? peer : "?");
	}
	if (conn) {
		conn->busy = 1;
		evtimer_del(conn->timer);
		if (!conn->addr[0])
			snprintf(conn->addr, sizeof(conn->addr), "%s", ctx->addr);
	}
	if (srv->stopping) {
		ecd_reply_error(ctx, 503, "unavailable", "the server is "
		    "shutting down");
		return;
	}
	if (request_header_bytes(req) > srv->cfg->max_header) {
		ecd_reply_error(ctx, 431, "too_large", "request headers larger "
		    "than max_header (%zu bytes)", srv->cfg->max_header);
		return;
	}
	path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!path || !*path) {
		ecd_reply_error(ctx, 400, "invalid", "malformed request URI");
		return;
	}
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	for (i = 0; i < ecd_nroutes; i++) {
		r = &ecd_routes[i];
		m = route_match(r->pattern, path, params, &nparams);
		if (m < 0) {
			ecd_reply_error(ctx, 400, "invalid", "malformed "
			    "percent-encoding or empty component in the path");
			return;
		}
		if (m == 0)
			continue;
		path_known = 1;
		if (r->method == method && !found) {
			found = r;
			memcpy(ctx->params, params, sizeof(params));
			ctx->nparams = nparams;
			continue;
		}
		if (strlen(allow) + 10 < sizeof(allow) &&
		    !strstr(allow, method_name(r->method)))
			snprintf(allow + strlen(allow), sizeof(allow) -
			    strlen(allow), "%s%s", allow[0] ? ", " : "",
			    method_name(r->method));
		while (nparams > 0)
			free(params[--nparams]);
	}
	if (!found) {
		if (path_known) {
			ecd_set_header(ctx, "Allow", allow);
			ecd_reply_error(ctx, 405, "method_not_allowed", "%s is "
			    "not allowed on %s (allowed: %s)",
			    method_name(method), path, allow);
		} else {
			ecd_reply_error(ctx, 404, "not_found", "no such "
			    "endpoint: %s", path);
		}
		return;
	}
	ctx->route = found;
	query = evhttp_uri_get_query(uri);
	if (query && *query && evhttp_parse_query_str(query, &ctx->query) < 0) {
		TAILQ_INIT(&ctx->query);
		ecd_reply_error(ctx, 400, "invalid", "malformed query string");
		return;
	}
	if (found->access != ECD_ANYONE && server_authenticate(ctx) < 0)
		return;
	if (found->access != ECD_ANYONE && server_authorize(ctx) < 0)
		return;
	if (server_read_body(ctx) < 0)
		return;
	found->handler(ctx);
}

/* --- listener --- */

void
ecd_server_apply_limits(struct ecd_server *srv)
{
	const struct ecc_dconf *cfg = srv->cfg;

	ecc_limits_default(&srv->limits);
	srv->limits.max_file_size = cfg->max_file_size;
	srv->limits.max_changes = (size_t)cfg->max_changes;
	srv->limits.max_changeset = cfg->max_body;
	if (!srv->http)
		return;
	/* evhttp (2.1) answers its own limits with HTML pages, so its limits
	 * sit above ours: up to them we answer 431/413 in JSON; beyond, the
	 * HTTP layer answers 400/413 itself and closes the connection. */
	evhttp_set_max_headers_size(srv->http, (ev_ssize_t)(cfg->max_header *
	    4));
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)(cfg->max_body +
	    BODY_SLACK));
	evhttp_set_timeout(srv->http, (int)cfg->request_timeout);
}

int
ecd_server_listen(struct ecd_server *srv, int fd, SSL_CTX *ctx)
{
	int error = -1;

	if (conn_index < 0)
		conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    conn_ex_free);
	srv->ssl_ctx = ctx;
	srv->tokens = ecd_map_new();
	srv->login_fails = ecd_map_new();
	srv->watchers = ecd_map_new();
	srv->node_status = ecd_map_new();
	if (!(srv->http = evhttp_new(srv->base))) {
		error = ecc_error_set(ECC_ERROR, "cannot create the HTTP "
		    "server");
		goto out;
	}
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(srv->http, "text/plain");
	evhttp_set_gencb(srv->http, server_handle, srv);
	evhttp_set_bevcb(srv->http, server_bevcb, srv);
	ecd_server_apply_limits(srv);
	if (!(srv->bound = evhttp_accept_socket_with_handle(srv->http, fd))) {
		error = ecc_error_set(ECC_ERROR, "cannot listen on the bound "
		    "socket");
		goto out;
	}
	fd = -1;
	srv->purge_ev = event_new(srv->base, -1, EV_PERSIST, server_purge_cb,
	    srv);
	if (srv->purge_ev) {
		struct timeval tv = { PURGE_INTERVAL, 0 };

		event_add(srv->purge_ev, &tv);
	}
	error = 0;
out:
	if (fd >= 0)
		evutil_closesocket(fd);
	return error;
}

void
ecd_server_set_ssl_ctx(struct ecd_server *srv, SSL_CTX *ctx)
{
	/* Live connections hold their own reference (SSL_new). */
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = ctx;
}

void
ecd_server_stop_accepting(struct ecd_server *srv)
{
	struct server_conn *conn, *next;

	srv->stopping = 1;
	if (srv->bound) {
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
	}
	for (conn = srv->conns; conn; conn = next) {
		next = conn->next;
		if (!conn->busy)
			conn_close(conn);
	}
}

static void
fail_free(void *p)
{
	free(p);
}

void
ecd_server_free(struct ecd_server *srv)
{
	if (srv->http) {
		evhttp_free(srv->http);
		srv->http = NULL;
		srv->bound = NULL;
		/* Let bufferevent finalizers run (they free the SSLs and
		 * with them our connection records) while srv is alive. */
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
	}
	if (srv->purge_ev)
		event_free(srv->purge_ev);
	srv->purge_ev = NULL;
	ecd_map_free(srv->tokens, token_free);
	ecd_map_free(srv->login_fails, fail_free);
	ecd_map_free(srv->watchers, NULL);
	ecd_map_free(srv->node_status, ecd_node_status_free);
	srv->tokens = srv->login_fails = srv->watchers = NULL;
	srv->node_status = NULL;
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = NULL;
	ecd_state_free(srv->state);
	srv->state = NULL;
	ecc_user_array_free(srv->users, srv->nusers);
	srv->users = NULL;
	srv->nusers = 0;
	ecc_node_array_free(srv->nodes, srv->nnodes);
	srv->nodes = NULL;
	srv->nnodes = 0;
	free(srv->dummy_hash);
	srv->dummy_hash = NULL;
}
