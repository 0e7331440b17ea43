/*
 * client.c - eccfg's authenticated session with ecconfigd (see client.h):
 * where the server, trust anchor and credentials come from, the login
 * and its bearer token, JSON and raw requests, and the mapping of the
 * server's error bodies to ECC_E* codes and messages.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "client.h"
#include "prompt.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CLIENT_CONF_MAX (64 * 1024)
/* Snapshots of large views come through eccfg_client_get. */
#define CLIENT_MAX_BODY ((size_t)1 << 30)
#define CLIENT_JSON_DEPTH 32
/* Logins retried while the manager says it is busy (Retry-After of a
 * few seconds at most). */
#define CLIENT_LOGIN_RETRIES 20
#define CLIENT_LOGIN_WAIT_MS 5000

struct eccfg_client {
	struct eccfg_ctx *ctx;
	char *server;             /* "host[:port]" as resolved */
	char *host;
	int port;
	char *ca_file;
	char *ca_fingerprint;     /* canonical form */
	char *username;
	char *cred_password;      /* from --credentials */
	char *conf_password_file; /* from the config file */
	char *token;
	SSL_CTX *ssl;
	ecc_http_client *http;
	uint64_t retry_after_ms;  /* of the last response, 0 if none */
	/* node mode (eccfg_client_new_node): the client certificate
	 * authenticates, no login; fail-over between the managers */
	int node;
	char *cert_file;
	char *key_file;
	char **servers;           /* "host:port" / "[v6]:port" */
	size_t nservers;
	size_t cur;               /* index of `server` in servers */
};

/* Settings read from a config or credentials file. */
struct client_conf {
	const char *filename;
	int strict;               /* unknown keys are errors */
	char *server;
	char *ca_file;
	char *ca_fingerprint;
	char *username;
	char *password;
	char *password_file;
};

static void
client_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void
client_conf_clear(struct client_conf *cf)
{
	free(cf->server);
	free(cf->ca_file);
	free(cf->ca_fingerprint);
	free(cf->username);
	client_free_secret(cf->password);
	free(cf->password_file);
}

static int
client_conf_value(const char *section, const char *key, const char *value,
    int line, void *payload)
{
	struct client_conf *cf = payload;
	char **slot = NULL;

	(void)line;
	if (*section) {
		if (cf->strict)
			return ecc_error_set(ECC_EINVALID, "unexpected section "
			    "[%s]", section);
		return 0;
	}
	if (strcmp(key, "server") == 0 && !cf->strict)
		slot = &cf->server;
	else if (strcmp(key, "ca_file") == 0 && !cf->strict)
		slot = &cf->ca_file;
	else if (strcmp(key, "ca_fingerprint") == 0 && !cf->strict)
		slot = &cf->ca_fingerprint;
	else if (strcmp(key, "username") == 0)
		slot = &cf->username;
	else if (strcmp(key, "password_file") == 0 && !cf->strict)
		slot = &cf->password_file;
	else if (strcmp(key, "password") == 0 && cf->strict)
		slot = &cf->password;
	if (!slot) {
		/* eccfg.conf also holds node-side settings (hooks, state
		 * directory) that are not ours; credentials files are ours
		 * alone. */
		if (cf->strict)
			return ecc_error_set(ECC_EINVALID, "unknown key '%s' "
			    "(expected username or password)", key);
		return 0;
	}
	if (*slot)
		return ecc_error_set(ECC_EINVALID, "'%s' given twice", key);
	*slot = ecc_strdup(value);
	return 0;
}

static int
client_conf_load(struct client_conf *cf, const char *path, int strict)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	cf->filename = path;
	cf->strict = strict;
	if ((error = ecc_file_read(&buf, &len, path, CLIENT_CONF_MAX)) < 0)
		return error;
	error = ecc_conf_parse(buf, len, path, NULL, client_conf_value, cf);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return error;
}

/* The client configuration file, if any: $ECCFG_CONFIG (must exist),
 * else ~/.eccfg.conf, else SYSCONFDIR/ecconfig/eccfg.conf. */
static int
client_conf_find(struct client_conf *cf)
{
	const char *env = getenv("ECCFG_CONFIG"), *home = getenv("HOME");
	char *path = NULL;
	int error = 0;

	if (env && *env) {
		path = ecc_strdup(env);
	} else {
		if (home && *home) {
			path = ecc_printf("%s/.eccfg.conf", home);
			if (!ecc_path_exists(path)) {
				free(path);
				path = NULL;
			}
		}
		if (!path) {
			path = ecc_strdup(SYSCONFDIR "/ecconfig/eccfg.conf");
			if (!ecc_path_exists(path))
				goto out;
		}
	}
	ecc_log_debug("client", "reading %s", path);
	error = client_conf_load(cf, path, 0);
out:
	free(path);
	cf->filename = NULL;
	return error;
}

int
eccfg_client_new(struct eccfg_client **out, struct eccfg_ctx *ctx,
    const struct eccfg_server_hint *hint)
{
	struct eccfg_client *c = NULL;
	struct client_conf conf, cred;
	const struct eccfg_global *g = &ctx->g;
	const char *server = NULL, *ca = NULL, *fp = NULL, *user;
	char canon[ECC_FINGERPRINT_LEN];
	int error = -1;

	*out = NULL;
	memset(&conf, 0, sizeof(conf));
	memset(&cred, 0, sizeof(cred));
	if ((error = client_conf_find(&conf)) < 0)
		goto out;
	if (g->credentials &&
	    (error = client_conf_load(&cred, g->credentials, 1)) < 0)
		goto out;

	c = ecc_calloc(1, sizeof(*c));
	c->ctx = ctx;

	/* First match wins: options/environment, checkout, config file. */
	server = g->server;
	if (!server && hint)
		server = hint->server;
	if (!server)
		server = conf.server;
	if (!server)
		server = "localhost";
	if ((error = ecc_http_parse_hostport(&c->host, &c->port, server,
	    ECC_DEFAULT_PORT)) < 0) {
		eccfg_error_prefix(error, "server '%s'", server);
		goto out;
	}
	c->server = ecc_strdup(server);

	/* The trust anchor comes as a pair from the first place giving one;
	 * a CA file wins over a fingerprint given at the same place. */
	if (g->ca_file || g->ca_fingerprint) {
		ca = g->ca_file;
		fp = g->ca_fingerprint;
	} else if (hint && (hint->ca_file || hint->ca_fingerprint)) {
		ca = hint->ca_file;
		fp = hint->ca_fingerprint;
	} else {
		ca = conf.ca_file;
		fp = conf.ca_fingerprint;
	}
	if (ca) {
		c->ca_file = ecc_strdup(ca);
	} else if (fp) {
		if ((error = ecc_pki_fingerprint_normalize(canon, fp)) < 0) {
			eccfg_error_prefix(error, "CA fingerprint '%s'", fp);
			goto out;
		}
		c->ca_fingerprint = ecc_strdup(canon);
	} else {
		error = ecc_error_set(ECC_EINVALID, "no trust anchor for %s: "
		    "pass --ca FILE or --ca-fingerprint FP (or set $ECCFG_CA "
		    "or $ECCFG_CA_FINGERPRINT)", c->server);
		goto out;
	}

	user = g->username;
	if (!user)
		user = cred.username;
	if (!user)
		user = conf.username;
	if (!user)
		user = getenv("USER");
	if (!user || !*user) {
		error = ecc_error_set(ECC_EINVALID, "no user name: pass "
		    "--username NAME");
		goto out;
	}
	c->username = ecc_strdup(user);
	if (cred.password)
		c->cred_password = ecc_strdup(cred.password);
	if (conf.password_file)
		c->conf_password_file = ecc_strdup(conf.password_file);
	*out = c;
	c = NULL;
	error = 0;
out:
	client_conf_clear(&conf);
	client_conf_clear(&cred);
	eccfg_client_free(c);
	return error;
}

static void
client_disconnect(struct eccfg_client *c)
{
	ecc_http_client_free(c->http);
	c->http = NULL;
	SSL_CTX_free(c->ssl);
	c->ssl = NULL;
}

static int
client_connect(struct eccfg_client *c)
{
	struct ecc_tls_client_opts o;
	int error;

	if (c->http)
		return 0;
	memset(&o, 0, sizeof(o));
	o.ca_path = c->ca_file;
	o.ca_fingerprint = c->ca_fingerprint;
	o.cert_path = c->cert_file;
	o.key_path = c->key_file;
	if ((error = ecc_tls_client_ctx(&c->ssl, &o)) < 0)
		goto fail;
	if ((error = ecc_http_client_new(&c->http, c->host, c->port, c->ssl,
	    c->ctx->g.timeout, CLIENT_MAX_BODY)) < 0)
		goto fail;
	return 0;
fail:
	client_disconnect(c);
	return error;
}

static int
client_send(struct ecc_http_response *resp, struct eccfg_client *c,
    const char *method, const char *uri, const char *body, size_t len,
    int with_token)
{
	const char *headers[9];
	char *auth = NULL;
	size_t n = 0;
	int error;

	memset(resp, 0, sizeof(*resp));
	if ((error = client_connect(c)) < 0)
		return error;
	headers[n++] = "Accept";
	headers[n++] = "application/json";
	if (body) {
		headers[n++] = "Content-Type";
		headers[n++] = "application/json; charset=utf-8";
	}
	if (with_token && c->token) {
		auth = ecc_printf("Bearer %s", c->token);
		headers[n++] = "Authorization";
		headers[n++] = auth;
	}
	headers[n] = NULL;
	error = ecc_http_request(resp, c->http, method, uri, headers, body,
	    len);
	ecc_log_debug("client", "%s %s -> %d", method, uri,
	    error < 0 ? error : resp->status);
	c->retry_after_ms = 0;
	if (error == 0 && resp->retry_after &&
	    ecc_backoff_parse_retry_after(&c->retry_after_ms,
	    resp->retry_after) < 0)
		c->retry_after_ms = 0;
	/* httpc's messages name the server already. */
	if (error < 0)
		client_disconnect(c);
	client_free_secret(auth);
	return error;
}

/* Make servers[i] the current manager. */
static int
client_use_server(struct eccfg_client *c, size_t i)
{
	char *host = NULL;
	int port, error;

	if ((error = ecc_http_parse_hostport(&host, &port, c->servers[i],
	    ECC_DEFAULT_PORT)) < 0)
		return error;
	client_disconnect(c);
	free(c->host);
	free(c->server);
	c->host = host;
	c->port = port;
	c->server = ecc_strdup(c->servers[i]);
	c->cur = i;
	return 0;
}

/* client_send, and in node mode on an unreachable manager the next ones
 * of cluster.boot's repo list, each once, starting after the current
 * one; the manager that answered stays current. */
static int
client_send_any(struct ecc_http_response *resp, struct eccfg_client *c,
    const char *method, const char *uri, const char *body, size_t len,
    int with_token)
{
	size_t tried;
	char *first = NULL;
	int error;

	error = client_send(resp, c, method, uri, body, len, with_token);
	for (tried = 1; error == ECC_EUNAVAIL && c->node &&
	    tried < c->nservers; tried++) {
		if (!first)
			first = ecc_strdup(ecc_error_last());
		ecc_log_notice("client", "%s; trying %s", ecc_error_last(),
		    c->servers[(c->cur + 1) % c->nservers]);
		if ((error = client_use_server(c, (c->cur + 1) %
		    c->nservers)) < 0)
			break;
		error = client_send(resp, c, method, uri, body, len,
		    with_token);
	}
	if (error == ECC_EUNAVAIL && first)
		ecc_error_set(ECC_EUNAVAIL, "no manager reachable (%s; last: "
		    "%s)", first, ecc_error_last());
	free(first);
	return error;
}

static int
client_code_from_name(const char *name, int status)
{
	static const struct {
		const char *name;
		int code;
	} names[] = {
		{ "invalid", ECC_EINVALID },
		{ "unauthorized", ECC_EAUTH },
		{ "forbidden", ECC_EFORBIDDEN },
		{ "not_found", ECC_ENOTFOUND },
		{ "method_not_allowed", ECC_EINVALID },
		{ "out_of_date", ECC_ECONFLICT },
		{ "exists", ECC_EEXISTS },
		{ "too_large", ECC_ETOOBIG },
		{ "unsupported_media_type", ECC_EINVALID },
		{ "rejected", ECC_EREJECTED },
		{ "try_again", ECC_EAGAIN },
		{ "internal", ECC_ERROR },
		{ "unavailable", ECC_EUNAVAIL },
	};
	size_t i;

	for (i = 0; name && i < ECC_ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].code;
	switch (status) {
	case 400: return ECC_EINVALID;
	case 401: return ECC_EAUTH;
	case 403: return ECC_EFORBIDDEN;
	case 404: return ECC_ENOTFOUND;
	case 409: return ECC_ECONFLICT;
	case 413: case 431: return ECC_ETOOBIG;
	case 422: return ECC_EREJECTED;
	case 429: return ECC_EAGAIN;
	case 503: return ECC_EUNAVAIL;
	default: return ECC_ERROR;
	}
}

/* Turn an error response into a code and message; *body (optional) gets
 * the parsed error body. */
static int
client_error(json_t **body, struct eccfg_client *c, const char *method,
    const char *uri, const struct ecc_http_response *resp)
{
	json_t *v = NULL, *e;
	const char *name = NULL, *msg = NULL;
	char *retry = NULL;
	int code;

	if (resp->len > 0 && ecc_json_parse(&v, resp->body, resp->len,
	    CLIENT_JSON_DEPTH) == 0 && (e = json_object_get(v, "error")) &&
	    json_is_object(e)) {
		name = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
	}
	code = client_code_from_name(name, resp->status);
	if (resp->status == 429 && resp->retry_after)
		retry = ecc_printf(" (retry after %.16s seconds)",
		    resp->retry_after);
	if (msg && *msg)
		ecc_error_set(code, "%s%s", msg, retry ? retry : "");
	else
		ecc_error_set(code, "%s: %s %s: HTTP status %d%s", c->server,
		    method, uri, resp->status, retry ? retry : "");
	free(retry);
	if (body)
		*body = v;
	else
		json_decref(v);
	return code;
}

static int
client_password(char **out, struct eccfg_client *c)
{
	const struct eccfg_global *g = &c->ctx->g;
	char *q = NULL;
	int error;

	*out = NULL;
	if (g->password) {
		*out = ecc_strdup(g->password);
		return 0;
	}
	if (g->password_file)
		return eccfg_read_password_file(out, g->password_file);
	if (c->cred_password) {
		*out = ecc_strdup(c->cred_password);
		return 0;
	}
	if (c->conf_password_file)
		return eccfg_read_password_file(out, c->conf_password_file);
	q = ecc_printf("Password for %s@%s: ", c->username, c->server);
	error = prompt_password(out, q, "--password, --password-file, "
	    "--credentials or $ECCFG_PASSWORD");
	free(q);
	return error;
}

static void
client_sleep_ms(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
client_login(struct eccfg_client *c)
{
	struct ecc_http_response resp;
	json_t *req = NULL, *res = NULL;
	char *pw = NULL, *text = NULL;
	const char *token;
	int error = -1, tries;

	memset(&resp, 0, sizeof(resp));
	free(c->token);
	c->token = NULL;
	if ((error = client_password(&pw, c)) < 0)
		goto out;
	req = json_pack("{s:s, s:s}", "username", c->username,
	    "password", pw);
	if (!req) {
		error = ecc_error_set(ECC_EINVALID, "the user name or password "
		    "is not valid UTF-8");
		goto out;
	}
	text = ecc_json_dump(req);
	/* A manager busy with other logins says so with a short
	 * Retry-After; a long one (too many failures) is reported. */
	for (tries = 0;; tries++) {
		if ((error = client_send(&resp, c, "POST", "/v1/login", text,
		    strlen(text), 0)) < 0)
			goto out;
		if (resp.status != 429 || tries >= CLIENT_LOGIN_RETRIES ||
		    c->retry_after_ms == 0 ||
		    c->retry_after_ms > CLIENT_LOGIN_WAIT_MS)
			break;
		ecc_log_debug("client", "%s is busy; login again in %llu ms",
		    c->server, (unsigned long long)c->retry_after_ms);
		ecc_http_response_clear(&resp);
		client_sleep_ms(c->retry_after_ms);
	}
	if (resp.status != 200) {
		error = client_error(NULL, c, "POST", "/v1/login", &resp);
		eccfg_error_prefix(error, "login as %s at %s failed",
		    c->username, c->server);
		goto out;
	}
	if ((error = ecc_json_parse(&res, resp.body, resp.len,
	    CLIENT_JSON_DEPTH)) < 0 ||
	    !(token = json_string_value(json_object_get(res, "token"))) ||
	    strlen(token) >= 256) {
		error = ecc_error_set(ECC_ERROR, "%s: the login response holds "
		    "no token", c->server);
		goto out;
	}
	c->token = ecc_strdup(token);
	ecc_log_debug("client", "logged in to %s as %s", c->server,
	    c->username);
	error = 0;
out:
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	json_decref(req);
	json_decref(res);
	client_free_secret(pw);
	ecc_http_response_clear(&resp);
	return error;
}

/* Send with the token, logging in first; one new login when the token
 * expired on the way.  *resp holds any status. */
static int
client_authed(struct ecc_http_response *resp, struct eccfg_client *c,
    const char *method, const char *uri, const char *body, size_t len)
{
	int error, fresh = 0;

	memset(resp, 0, sizeof(*resp));
	if (c->node)
		return client_send_any(resp, c, method, uri, body, len, 0);
	if (!c->token) {
		if ((error = client_login(c)) < 0)
			return error;
		fresh = 1;
	}
	if ((error = client_send(resp, c, method, uri, body, len, 1)) < 0)
		return error;
	if (resp->status == 401 && !fresh) {
		ecc_http_response_clear(resp);
		if ((error = client_login(c)) < 0)
			return error;
		error = client_send(resp, c, method, uri, body, len, 1);
	}
	return error;
}

int
eccfg_client_json(json_t **out, int *status, struct eccfg_client *c,
    const char *method, const char *uri, const json_t *body)
{
	struct ecc_http_response resp;
	char *text = NULL;
	int error = -1;

	if (out)
		*out = NULL;
	if (status)
		*status = 0;
	memset(&resp, 0, sizeof(resp));
	if (body)
		text = ecc_json_dump(body);
	if ((error = client_authed(&resp, c, method, uri, text,
	    text ? strlen(text) : 0)) < 0)
		goto out;
	if (status)
		*status = resp.status;
	if (resp.status < 200 || resp.status > 299) {
		error = client_error(out, c, method, uri, &resp);
		goto out;
	}
	if (resp.status != 204 && resp.len > 0 && out &&
	    (error = ecc_json_parse(out, resp.body, resp.len,
	    CLIENT_JSON_DEPTH)) < 0) {
		eccfg_error_prefix(error, "%s: %s %s: the response is not "
		    "JSON", c->server, method, uri);
		goto out;
	}
	error = 0;
out:
	free(text);
	ecc_http_response_clear(&resp);
	return error;
}

int
eccfg_client_get(struct ecc_http_response *out, struct eccfg_client *c,
    const char *uri)
{
	int error;

	if ((error = client_authed(out, c, "GET", uri, NULL, 0)) < 0)
		return error;
	if (out->status < 200 || out->status > 299)
		return client_error(NULL, c, "GET", uri, out);
	return 0;
}

int
eccfg_client_head(int64_t *out, struct eccfg_client *c)
{
	json_t *v = NULL, *head;
	int error;

	*out = 0;
	if ((error = eccfg_client_json(&v, NULL, c, "GET", "/v1/health",
	    NULL)) < 0)
		return error;
	head = json_object_get(v, "head");
	if (!json_is_integer(head) || json_integer_value(head) < 0)
		error = ecc_error_set(ECC_ERROR, "%s: /v1/health gave no head "
		    "revision", c->server);
	else
		*out = json_integer_value(head);
	json_decref(v);
	return error;
}

int
eccfg_client_new_node(struct eccfg_client **out, struct eccfg_ctx *ctx,
    const struct ecc_boot *boot)
{
	struct eccfg_client *c;
	const struct ecc_boot_repo *r;
	size_t i;
	int error;

	*out = NULL;
	if (boot->nrepos == 0)
		return ecc_error_set(ECC_EINVALID, "cluster.boot lists no "
		    "manager (repo)");
	c = ecc_calloc(1, sizeof(*c));
	c->ctx = ctx;
	c->node = 1;
	c->ca_file = ecc_strdup(boot->ca_file);
	c->cert_file = ecc_strdup(boot->cert_file);
	c->key_file = ecc_strdup(boot->key_file);
	c->username = ecc_strdup(boot->node_name);
	c->servers = ecc_calloc(boot->nrepos, sizeof(*c->servers));
	for (i = 0; i < boot->nrepos; i++) {
		r = &boot->repos[i];
		c->servers[i] = strchr(r->host, ':') ?
		    ecc_printf("[%s]:%d", r->host, r->port) :
		    ecc_printf("%s:%d", r->host, r->port);
	}
	c->nservers = boot->nrepos;
	if ((error = client_use_server(c, 0)) < 0) {
		eccfg_client_free(c);
		return error;
	}
	*out = c;
	return 0;
}

uint64_t
eccfg_client_retry_after(const struct eccfg_client *c)
{
	return c->retry_after_ms;
}

const char *
eccfg_client_server(const struct eccfg_client *c)
{
	return c->server;
}

const char *
eccfg_client_ca_file(const struct eccfg_client *c)
{
	return c->ca_file;
}

const char *
eccfg_client_ca_fingerprint(const struct eccfg_client *c)
{
	return c->ca_fingerprint;
}

const char *
eccfg_client_username(const struct eccfg_client *c)
{
	return c->username;
}

void
eccfg_client_free(struct eccfg_client *c)
{
	struct ecc_http_response resp;
	char *saved;
	size_t i;
	int saved_code;

	if (!c)
		return;
	if (c->token && c->http) {
		/* Revoke the token.  A failure here changes nothing for the
		 * command (the token expires anyway) and must not replace
		 * the message of an error the command is about to report. */
		saved = ecc_strdup(ecc_error_last());
		saved_code = ecc_error_last_code();
		if (client_send(&resp, c, "POST", "/v1/logout", NULL, 0,
		    1) == 0)
			ecc_http_response_clear(&resp);
		if (saved_code != ECC_OK || *saved)
			ecc_error_set(saved_code, "%s", saved);
		else
			ecc_error_clear();
		free(saved);
	}
	client_disconnect(c);
	client_free_secret(c->token);
	client_free_secret(c->cred_password);
	free(c->conf_password_file);
	free(c->server);
	free(c->host);
	free(c->ca_file);
	free(c->ca_fingerprint);
	free(c->username);
	free(c->cert_file);
	free(c->key_file);
	for (i = 0; i < c->nservers; i++)
		free(c->servers[i]);
	free(c->servers);
	free(c);
}
