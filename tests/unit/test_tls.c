/*
 * test_tls.c - unit tests for lib/tls.c and lib/httpc.c: real TLS
 * handshakes in-process.  A small evhttp server over bufferevent_openssl
 * runs in a thread on 127.0.0.1:0 with ecc_tls_server_ctx(); the client
 * side is ecc_http_request() with ecc_tls_client_ctx().  Certificates are
 * made at test time with lib/pki.c.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "error.h"
#include "httpc.h"
#include "pki.h"
#include "tls.h"
#include "util.h"

#define BIG_BODY (100 * 1024)

/* Certificates shared by every test, made once. */
struct pki {
	char *dir;
	char *ca, *ca_key, *srv, *srv_key;
	char *other_ca, *other_ca_key;
	char *wrong, *wrong_key;          /* server cert for other.example */
	char *node, *node_key;            /* client certificate CN=mta1 */
	char fp[ECC_FINGERPRINT_LEN];
};

static struct pki pki;

struct server {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ctx;
	pthread_t thread;
	int port;
	atomic_int conns;
};

static char *
pki_path(const char *name)
{
	return ecc_printf("%s/%s", pki.dir, name);
}

static int
write_string(const char *path, const char *s)
{
	return ecc_file_write_atomic(path, s, strlen(s), 0600);
}

static int
group_setup(void **state)
{
	static const char *const sans[] = { "localhost", "127.0.0.1", "::1" };
	static const char *const other[] = { "other.example" };
	char *key_pem = NULL, *csr_pem = NULL, *cert = NULL;
	int rc = -1;

	(void)state;
	if (!(pki.dir = test_tmpdir_new()))
		return -1;
	pki.ca = pki_path("ca.crt");
	pki.ca_key = pki_path("ca.key");
	pki.srv = pki_path("server.crt");
	pki.srv_key = pki_path("server.key");
	pki.other_ca = pki_path("other-ca.crt");
	pki.other_ca_key = pki_path("other-ca.key");
	pki.wrong = pki_path("wrong.crt");
	pki.wrong_key = pki_path("wrong.key");
	pki.node = pki_path("node.crt");
	pki.node_key = pki_path("node.key");
	if (ecc_pki_create_ca(pki.ca, pki.ca_key, "Test CA", 10) < 0 ||
	    ecc_pki_create_ca(pki.other_ca, pki.other_ca_key, "Other CA",
	    10) < 0 ||
	    ecc_pki_issue_server(pki.ca, pki.ca_key, pki.srv, pki.srv_key,
	    "mgr1", sans, 3, 10) < 0 ||
	    ecc_pki_issue_server(pki.ca, pki.ca_key, pki.wrong, pki.wrong_key,
	    "other", other, 1, 10) < 0 ||
	    ecc_pki_make_csr(&key_pem, &csr_pem, "mta1", "east") < 0 ||
	    ecc_pki_sign_node(&cert, pki.ca, pki.ca_key, csr_pem,
	    strlen(csr_pem), "mta1", "east", 10) < 0 ||
	    write_string(pki.node, cert) < 0 ||
	    write_string(pki.node_key, key_pem) < 0 ||
	    ecc_pki_fingerprint_file(pki.fp, pki.ca) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "setup: %s\n", ecc_error_last());
	free(key_pem);
	free(csr_pem);
	free(cert);
	return rc;
}

static int
group_teardown(void **state)
{
	(void)state;
	test_tmpdir_free(pki.dir);
	free(pki.ca);
	free(pki.ca_key);
	free(pki.srv);
	free(pki.srv_key);
	free(pki.other_ca);
	free(pki.other_ca_key);
	free(pki.wrong);
	free(pki.wrong_key);
	free(pki.node);
	free(pki.node_key);
	return 0;
}

/* --- the test server ----------------------------------------------- */

static struct bufferevent *
server_bevcb(struct event_base *base, void *arg)
{
	struct server *s = arg;

	atomic_fetch_add(&s->conns, 1);
	return bufferevent_openssl_socket_new(base, -1, SSL_new(s->ctx),
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static void
server_handler(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evbuffer_new();
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	int code = 200;

	(void)arg;
	if (!strcmp(uri, "/hello")) {
		evhttp_add_header(oh, "Content-Type", "text/plain");
		evbuffer_add_printf(out, "hello");
	} else if (!strcmp(uri, "/echo")) {
		const char *host = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Host");
		const char *x = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "X-Test");

		evbuffer_add_printf(out, "%d|%s|%s|",
		    (int)evhttp_request_get_command(req), host ? host : "-",
		    x ? x : "-");
		evbuffer_add_buffer(out, in);
	} else if (!strcmp(uri, "/retry")) {
		code = 503;
		evhttp_add_header(oh, "Retry-After", "7");
		evbuffer_add_printf(out, "busy");
	} else if (!strcmp(uri, "/close")) {
		evhttp_add_header(oh, "Connection", "close");
		evbuffer_add_printf(out, "bye");
	} else if (!strcmp(uri, "/big")) {
		char *big = calloc(1, BIG_BODY);

		evbuffer_add(out, big, BIG_BODY);
		free(big);
	} else if (!strcmp(uri, "/whoami")) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(
		    evhttp_request_get_connection(req));
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
		char cn[128] = "none";

		if (peer)
			X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
			    NID_commonName, cn, sizeof(cn));
		evbuffer_add_printf(out, "%s", cn);
	} else {
		code = 404;
	}
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Not OK", out);
	evbuffer_free(out);
}

static void *
server_main(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static struct server *
server_start(const char *cert, const char *key, const char *client_ca,
    int idle_timeout)
{
	struct server *s = calloc(1, sizeof(*s));
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);

	assert_non_null(s);
	if (ecc_tls_server_ctx(&s->ctx, cert, key, client_ca) < 0)
		fail_msg("server ctx: %s", ecc_error_last());
	assert_non_null(s->base = event_base_new());
	assert_non_null(s->http = evhttp_new(s->base));
	evhttp_set_bevcb(s->http, server_bevcb, s);
	evhttp_set_gencb(s->http, server_handler, s);
	evhttp_set_timeout(s->http, idle_timeout);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	bound = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	assert_non_null(bound);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&sin, &slen), 0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void
server_stop(struct server *s)
{
	event_base_loopbreak(s->base);
	pthread_join(s->thread, NULL);
	evhttp_free(s->http);
	event_base_free(s->base);
	SSL_CTX_free(s->ctx);
	free(s);
}

/* --- client helpers ------------------------------------------------- */

static SSL_CTX *
client_ctx(const char *ca, const char *fp, int insecure)
{
	struct ecc_tls_client_opts o;
	SSL_CTX *ctx = NULL;

	memset(&o, 0, sizeof(o));
	o.ca_path = ca;
	o.ca_fingerprint = fp;
	o.insecure_no_verify = insecure;
	if (ecc_tls_client_ctx(&ctx, &o) < 0)
		fail_msg("client ctx: %s", ecc_error_last());
	return ctx;
}

static ecc_http_client *
client_new(const char *host, int port, SSL_CTX *ctx, size_t max_body)
{
	ecc_http_client *c = NULL;

	if (ecc_http_client_new(&c, host, port, ctx, 5, max_body) < 0)
		fail_msg("client: %s", ecc_error_last());
	return c;
}

/* GET `uri`; returns the code and fills `r`. */
static int
get(struct ecc_http_response *r, ecc_http_client *c, const char *uri)
{
	return ecc_http_request(r, c, "GET", uri, NULL, NULL, 0);
}

static void
expect_refused(const char *host, SSL_CTX *ctx, struct server *s,
    const char *why)
{
	ecc_http_client *c = client_new(host, s->port, ctx, 1 << 20);
	struct ecc_http_response r;

	assert_int_equal(get(&r, c, "/hello"), ECC_EUNAVAIL);
	assert_int_equal(r.status, 0);
	assert_null(r.body);
	if (!strstr(ecc_error_last(), why))
		fail_msg("expected '%s' in: %s", why, ecc_error_last());
	ecc_http_client_free(c);
}

/* --- tests ---------------------------------------------------------- */

static void
test_tls__ca_file(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, NULL, 10);
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	ecc_http_client *c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	struct ecc_http_response r;

	(void)state;
	if (get(&r, c, "/hello") < 0)
		fail_msg("GET: %s", ecc_error_last());
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_int_equal(r.len, 5);
	assert_string_equal(r.content_type, "text/plain");
	assert_null(r.retry_after);
	assert_null(r.peer_root_pem);
	ecc_http_response_clear(&r);
	assert_null(r.body);

	/* Kept alive: the second request uses the same connection. */
	assert_int_equal(get(&r, c, "/nothing"), 0);
	assert_int_equal(r.status, 404);
	ecc_http_response_clear(&r);
	assert_int_equal(atomic_load(&s->conns), 1);

	/* By name too (SNI and DNS name check). */
	ecc_http_client_free(c);
	c = client_new("localhost", s->port, ctx, 1 << 20);
	if (get(&r, c, "/hello") == 0) {
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, "hello");
	} else if (!strstr(ecc_error_last(), "connect to")) {
		/* "localhost" may resolve to ::1 first, where nobody
		 * listens; anything else is a failure. */
		fail_msg("GET by name: %s", ecc_error_last());
	}
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__fingerprint_pin(void **state)
{
	/* With a client CA, the server sends the CA in its chain. */
	struct server *s = server_start(pki.srv, pki.srv_key, pki.ca, 10);
	SSL_CTX *ctx = client_ctx(NULL, pki.fp, 0);
	ecc_http_client *c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	struct ecc_http_response r;
	char lower[ECC_FINGERPRINT_LEN];
	size_t i;

	(void)state;
	if (get(&r, c, "/hello") < 0)
		fail_msg("GET: %s", ecc_error_last());
	assert_int_equal(r.status, 200);
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);

	/* Any spelling of the fingerprint pins the same CA. */
	for (i = 0; pki.fp[i]; i++)
		lower[i] = (char)(pki.fp[i] >= 'A' && pki.fp[i] <= 'F' ?
		    pki.fp[i] + 32 : pki.fp[i]);
	lower[i] = '\0';
	ctx = client_ctx(NULL, lower, 0);
	c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	assert_int_equal(get(&r, c, "/hello"), 0);
	assert_int_equal(r.status, 200);
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);

	/* The pin does not excuse a wrong host name. */
	ctx = client_ctx(NULL, pki.fp, 0);
	server_stop(s);
	s = server_start(pki.wrong, pki.wrong_key, pki.ca, 10);
	expect_refused("127.0.0.1", ctx, s, "certificate verify failed: "
	    "IP address mismatch");
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__wrong_fingerprint(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, pki.ca, 10);
	char other_fp[ECC_FINGERPRINT_LEN];
	SSL_CTX *ctx;

	(void)state;
	assert_int_equal(ecc_pki_fingerprint_file(other_fp, pki.other_ca), 0);
	ctx = client_ctx(NULL, other_fp, 0);
	expect_refused("127.0.0.1", ctx, s, "TLS: certificate verify failed: "
	    "no certificate presented matches the pinned CA fingerprint");
	SSL_CTX_free(ctx);
	/* Without the CA in the chain, even the right pin finds nothing. */
	server_stop(s);
	s = server_start(pki.srv, pki.srv_key, NULL, 10);
	ctx = client_ctx(NULL, pki.fp, 0);
	expect_refused("127.0.0.1", ctx, s, "pinned CA fingerprint");
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__untrusted_ca(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, pki.ca, 10);
	SSL_CTX *ctx = client_ctx(pki.other_ca, NULL, 0);

	(void)state;
	expect_refused("127.0.0.1", ctx, s, "TLS: certificate verify failed: "
	    "self-signed certificate in certificate chain");
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__wrong_host(void **state)
{
	struct server *s = server_start(pki.wrong, pki.wrong_key, NULL, 10);
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);

	(void)state;
	expect_refused("127.0.0.1", ctx, s, "TLS: certificate verify failed: "
	    "IP address mismatch");
	SSL_CTX_free(ctx);
	/* And by name, when "localhost" reaches the IPv4 server. */
	ctx = client_ctx(pki.ca, NULL, 0);
	{
		ecc_http_client *c = client_new("localhost", s->port, ctx, 64);
		struct ecc_http_response r;

		assert_int_equal(get(&r, c, "/hello"), ECC_EUNAVAIL);
		if (!strstr(ecc_error_last(), "connect to") &&
		    !strstr(ecc_error_last(), "hostname mismatch"))
			fail_msg("by name: %s", ecc_error_last());
		ecc_http_client_free(c);
	}
	SSL_CTX_free(ctx);
	server_stop(s);
}

/* A raw blocking handshake with the given protocol range and ciphers;
 * 1 when it succeeds. */
static int
raw_handshake(int port, int minv, int maxv, const char *ciphers)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct sockaddr_in sin;
	struct timeval tv = { 5, 0 };
	SSL *ssl;
	int fd, ok;

	assert_non_null(ctx);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, minv);
	SSL_CTX_set_max_proto_version(ctx, maxv);
	if (ciphers)
		assert_int_equal(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	ok = SSL_connect(ssl) == 1;
	if (ok)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static void
test_tls__protocol_versions(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, NULL, 10);

	(void)state;
	/* The same client code succeeds with what we allow ... */
	assert_true(raw_handshake(s->port, TLS1_3_VERSION, TLS1_3_VERSION,
	    NULL));
	assert_true(raw_handshake(s->port, TLS1_2_VERSION, TLS1_2_VERSION,
	    "ECDHE-ECDSA-AES128-GCM-SHA256"));
	assert_true(raw_handshake(s->port, TLS1_2_VERSION, TLS1_2_VERSION,
	    "ECDHE-ECDSA-CHACHA20-POLY1305"));
	/* ... and fails with old protocols and weak suites. */
	assert_false(raw_handshake(s->port, TLS1_1_VERSION, TLS1_1_VERSION,
	    "ALL:@SECLEVEL=0"));
	assert_false(raw_handshake(s->port, TLS1_VERSION, TLS1_VERSION,
	    "ALL:@SECLEVEL=0"));
	assert_false(raw_handshake(s->port, TLS1_2_VERSION, TLS1_2_VERSION,
	    "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384"));
	server_stop(s);
}

static void
test_tls__client_refuses_old_server(void **state)
{
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);

	(void)state;
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	SSL_CTX_free(ctx);
}

static void
test_tls__capture_chain(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, pki.ca, 10);
	SSL_CTX *ctx = client_ctx(NULL, NULL, 1);
	ecc_http_client *c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	struct ecc_http_response r;
	char fp[ECC_FINGERPRINT_LEN];

	(void)state;
	ecc_http_client_capture_chain(c, 1);
	if (get(&r, c, "/hello") < 0)
		fail_msg("GET: %s", ecc_error_last());
	assert_int_equal(r.status, 200);
	assert_non_null(r.peer_root_pem);
	assert_int_equal(ecc_pki_fingerprint_pem(fp, r.peer_root_pem,
	    strlen(r.peer_root_pem)), 0);
	assert_string_equal(fp, pki.fp);
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__client_certificate(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, pki.ca, 10);
	struct ecc_tls_client_opts o;
	SSL_CTX *ctx = NULL;
	ecc_http_client *c;
	struct ecc_http_response r;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.ca_path = pki.ca;
	o.cert_path = pki.node;
	o.key_path = pki.node_key;
	if (ecc_tls_client_ctx(&ctx, &o) < 0)
		fail_msg("client ctx: %s", ecc_error_last());
	c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	assert_int_equal(get(&r, c, "/whoami"), 0);
	assert_string_equal(r.body, "mta1");
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);

	/* Not required: clients without one are let in. */
	ctx = client_ctx(pki.ca, NULL, 0);
	c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	assert_int_equal(get(&r, c, "/whoami"), 0);
	assert_string_equal(r.body, "none");
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__requests(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, NULL, 10);
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	ecc_http_client *c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	struct ecc_http_response r;
	const char *hdrs[] = { "X-Test", "yes", NULL };
	const char *bad_hdrs[] = { "X-Test", "a\r\nInjected: 1", NULL };
	const char *odd_hdrs[] = { "X-Test", NULL };
	char *want;

	(void)state;
	assert_int_equal(ecc_http_request(&r, c, "POST", "/echo", hdrs,
	    "payload", 7), 0);
	want = ecc_printf("%d|127.0.0.1:%d|yes|payload", EVHTTP_REQ_POST,
	    s->port);
	assert_string_equal(r.body, want);
	free(want);
	ecc_http_response_clear(&r);

	assert_int_equal(ecc_http_request(&r, c, "PUT", "/echo", NULL, NULL,
	    0), 0);
	assert_int_equal(r.status, 200);
	ecc_http_response_clear(&r);

	assert_int_equal(get(&r, c, "/retry"), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.retry_after, "7");
	assert_string_equal(r.body, "busy");
	ecc_http_response_clear(&r);

	/* The server closes; the next request opens a new connection. */
	assert_int_equal(get(&r, c, "/close"), 0);
	assert_string_equal(r.body, "bye");
	ecc_http_response_clear(&r);
	assert_int_equal(get(&r, c, "/hello"), 0);
	assert_string_equal(r.body, "hello");
	ecc_http_response_clear(&r);
	assert_int_equal(atomic_load(&s->conns), 2);

	assert_int_equal(get(&r, c, "/big"), 0);
	assert_int_equal(r.len, BIG_BODY);
	ecc_http_response_clear(&r);

	/* Bad requests never reach the wire. */
	assert_int_equal(ecc_http_request(&r, c, "GET", "/x", bad_hdrs, NULL,
	    0), ECC_EINVALID);
	assert_int_equal(ecc_http_request(&r, c, "GET", "/x", odd_hdrs, NULL,
	    0), ECC_EINVALID);
	assert_int_equal(ecc_http_request(&r, c, "BREW", "/x", NULL, NULL, 0),
	    ECC_EINVALID);
	assert_int_equal(get(&r, c, "no-slash"), ECC_EINVALID);
	assert_int_equal(get(&r, c, "/a b"), ECC_EINVALID);
	assert_int_equal(get(&r, c, "/a\r\nX: y"), ECC_EINVALID);
	/* The connection is still good afterwards. */
	assert_int_equal(get(&r, c, "/hello"), 0);
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__body_limit(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, NULL, 10);
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	ecc_http_client *c = client_new("127.0.0.1", s->port, ctx, 1024);
	struct ecc_http_response r;

	(void)state;
	assert_int_equal(get(&r, c, "/big"), ECC_ETOOBIG);
	assert_null(r.body);
	/* A small response still works afterwards. */
	assert_int_equal(get(&r, c, "/hello"), 0);
	assert_string_equal(r.body, "hello");
	ecc_http_response_clear(&r);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__idle_connection_closed(void **state)
{
	struct server *s = server_start(pki.srv, pki.srv_key, NULL, 1);
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	ecc_http_client *c = client_new("127.0.0.1", s->port, ctx, 1 << 20);
	struct ecc_http_response r;

	(void)state;
	assert_int_equal(get(&r, c, "/hello"), 0);
	ecc_http_response_clear(&r);
	/* The server drops the idle connection after a second. */
	usleep(2500 * 1000);
	if (get(&r, c, "/hello") < 0)
		fail_msg("GET after idle close: %s", ecc_error_last());
	assert_string_equal(r.body, "hello");
	ecc_http_response_clear(&r);
	assert_int_equal(atomic_load(&s->conns), 2);
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);
	server_stop(s);
}

static void
test_tls__connection_refused(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	ecc_http_client *c;
	struct ecc_http_response r;
	char *want;
	int fd, port;

	(void)state;
	/* A port nobody listens on. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	port = ntohs(sin.sin_port);
	close(fd);

	c = client_new("127.0.0.1", port, ctx, 1 << 20);
	assert_int_equal(get(&r, c, "/hello"), ECC_EUNAVAIL);
	want = ecc_printf("connect to 127.0.0.1:%d: Connection refused", port);
	assert_string_equal(ecc_error_last(), want);
	free(want);
	ecc_http_client_free(c);

	c = client_new("no-such-host.invalid", port, ctx, 1 << 20);
	assert_int_equal(get(&r, c, "/hello"), ECC_EUNAVAIL);
	assert_non_null(strstr(ecc_error_last(), "no-such-host.invalid"));
	ecc_http_client_free(c);
	SSL_CTX_free(ctx);
}

static void
test_tls__timeout(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	ecc_http_client *c = NULL;
	struct ecc_http_response r;
	uint64_t t0;
	int fd;

	(void)state;
	/* Listening but never answering: the handshake stalls. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	assert_int_equal(ecc_http_client_new(&c, "127.0.0.1",
	    ntohs(sin.sin_port), ctx, 1, 1 << 20), 0);
	t0 = ecc_now_ms();
	assert_int_equal(get(&r, c, "/hello"), ECC_EUNAVAIL);
	assert_true(ecc_now_ms() - t0 < 3500);
	if (!strstr(ecc_error_last(), "timed out"))
		fail_msg("expected a timeout: %s", ecc_error_last());
	ecc_http_client_free(c);
	close(fd);
	SSL_CTX_free(ctx);
}

static void
test_tls__ctx_errors(void **state)
{
	struct ecc_tls_client_opts o;
	SSL_CTX *ctx = NULL;
	char *missing = pki_path("missing.crt");

	(void)state;
	assert_int_equal(ecc_tls_server_ctx(&ctx, missing, pki.srv_key, NULL),
	    ECC_ENOTFOUND);
	assert_non_null(strstr(ecc_error_last(), "missing"));
	assert_int_equal(ecc_tls_server_ctx(&ctx, pki.srv, pki.ca_key, NULL),
	    ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "does not match key"));
	assert_null(ctx);

	memset(&o, 0, sizeof(o));
	assert_int_equal(ecc_tls_client_ctx(&ctx, &o), ECC_EINVALID);
	o.ca_path = pki.ca;
	o.ca_fingerprint = pki.fp;
	assert_int_equal(ecc_tls_client_ctx(&ctx, &o), ECC_EINVALID);
	o.ca_path = NULL;
	o.ca_fingerprint = "12:34";
	assert_int_equal(ecc_tls_client_ctx(&ctx, &o), ECC_EINVALID);
	o.ca_fingerprint = NULL;
	o.ca_path = missing;
	assert_int_equal(ecc_tls_client_ctx(&ctx, &o), ECC_ENOTFOUND);
	o.ca_path = pki.ca;
	o.cert_path = pki.node;
	assert_int_equal(ecc_tls_client_ctx(&ctx, &o), ECC_EINVALID);
	assert_null(ctx);
	free(missing);

	/* Server context with a client CA sends the CA in its chain. */
	assert_int_equal(ecc_tls_server_ctx(&ctx, pki.srv, pki.srv_key,
	    pki.ca), 0);
	{
		STACK_OF(X509) *chain = NULL;

		assert_int_equal(SSL_CTX_get0_chain_certs(ctx, &chain), 1);
		assert_non_null(chain);
		assert_int_equal(sk_X509_num(chain), 1);
	}
	SSL_CTX_free(ctx);
}

static void
test_tls__set_host(void **state)
{
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	SSL *ssl = SSL_new(ctx);

	(void)state;
	assert_int_equal(ecc_tls_client_set_host(ssl, "mgr1.example"), 0);
	assert_string_equal(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	    "mgr1.example");
	SSL_free(ssl);
	/* No SNI for address literals. */
	ssl = SSL_new(ctx);
	assert_int_equal(ecc_tls_client_set_host(ssl, "10.1.2.3"), 0);
	assert_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	assert_int_equal(ecc_tls_client_set_host(ssl, "::1"), 0);
	assert_int_equal(ecc_tls_client_set_host(ssl, ""), ECC_EINVALID);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

static void
test_tls__parse_hostport(void **state)
{
	static const struct {
		const char *text;
		const char *host;
		int port;
	} good[] = {
		{ "mgr1", "mgr1", 2027 },
		{ "mgr1:443", "mgr1", 443 },
		{ "10.0.0.1:1", "10.0.0.1", 1 },
		{ "[::1]:8443", "::1", 8443 },
		{ "[fe80::1]", "fe80::1", 2027 },
		{ "::1", "::1", 2027 },
		{ "mgr.example.org:65535", "mgr.example.org", 65535 },
	};
	static const char *const bad[] = {
		"", ":80", "mgr1:", "mgr1:0", "mgr1:65536", "mgr1:http",
		"[::1", "[::1]x", "[]:80", "a b:80", "mgr1:80x", "mgr/1",
		"user@mgr1", "mgr1:-1",
	};
	char *host = NULL;
	int port = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (ecc_http_parse_hostport(&host, &port, good[i].text,
		    2027) != 0)
			fail_msg("refused %s: %s", good[i].text,
			    ecc_error_last());
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
		free(host);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ecc_http_parse_hostport(&host, &port, bad[i], 2027) !=
		    ECC_EINVALID)
			fail_msg("accepted '%s'", bad[i]);
		assert_null(host);
	}
	assert_int_equal(ecc_http_parse_hostport(&host, &port, NULL, 1),
	    ECC_EINVALID);
}

static void
test_tls__escape(void **state)
{
	char *s;

	(void)state;
	s = ecc_http_escape("a-Z_0.9~", 0);
	assert_string_equal(s, "a-Z_0.9~");
	free(s);
	s = ecc_http_escape("dir/file name?&=%#+", 0);
	assert_string_equal(s, "dir%2Ffile%20name%3F%26%3D%25%23%2B");
	free(s);
	s = ecc_http_escape("dir/file name", 1);
	assert_string_equal(s, "dir/file%20name");
	free(s);
	s = ecc_http_escape("\xc3\xa9\x01", 1);
	assert_string_equal(s, "%C3%A9%01");
	free(s);
	s = ecc_http_escape("", 1);
	assert_string_equal(s, "");
	free(s);
}

static void
test_tls__client_args(void **state)
{
	SSL_CTX *ctx = client_ctx(pki.ca, NULL, 0);
	ecc_http_client *c = NULL;

	(void)state;
	assert_int_equal(ecc_http_client_new(&c, "", 1, ctx, 5, 10),
	    ECC_EINVALID);
	assert_int_equal(ecc_http_client_new(&c, "h", 0, ctx, 5, 10),
	    ECC_EINVALID);
	assert_int_equal(ecc_http_client_new(&c, "h", 70000, ctx, 5, 10),
	    ECC_EINVALID);
	assert_int_equal(ecc_http_client_new(&c, "h", 1, ctx, 0, 10),
	    ECC_EINVALID);
	assert_int_equal(ecc_http_client_new(&c, "h", 1, NULL, 5, 10),
	    ECC_EINVALID);
	assert_null(c);
	ecc_http_client_free(NULL);
	ecc_http_response_clear(NULL);
	SSL_CTX_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls__ca_file),
		cmocka_unit_test(test_tls__fingerprint_pin),
		cmocka_unit_test(test_tls__wrong_fingerprint),
		cmocka_unit_test(test_tls__untrusted_ca),
		cmocka_unit_test(test_tls__wrong_host),
		cmocka_unit_test(test_tls__protocol_versions),
		cmocka_unit_test(test_tls__client_refuses_old_server),
		cmocka_unit_test(test_tls__capture_chain),
		cmocka_unit_test(test_tls__client_certificate),
		cmocka_unit_test(test_tls__requests),
		cmocka_unit_test(test_tls__body_limit),
		cmocka_unit_test(test_tls__idle_connection_closed),
		cmocka_unit_test(test_tls__connection_refused),
		cmocka_unit_test(test_tls__timeout),
		cmocka_unit_test(test_tls__ctx_errors),
		cmocka_unit_test(test_tls__set_host),
		cmocka_unit_test(test_tls__parse_hostport),
		cmocka_unit_test(test_tls__escape),
		cmocka_unit_test(test_tls__client_args),
	};

	/* The test servers run in threads; the main thread stops them. */
	if (evthread_use_pthreads() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
