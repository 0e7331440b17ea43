/*
 * httpc.h - a small blocking HTTPS client for eccfg, built on libevent's
 * evhttp (HTTP parsing) and bufferevent_openssl (TLS).  Each call runs a
 * private event loop until the response is complete or the timeout
 * passes.  Response bodies are bounded.
 */
#ifndef ECC_HTTPC_H
#define ECC_HTTPC_H

#include <stddef.h>

#include <openssl/ssl.h>

typedef struct ecc_http_client ecc_http_client;

struct ecc_http_response {
	int status;                   /* HTTP status; 0 if none */
	char *body;                   /* malloc'd, NUL-terminated */
	size_t len;
	char *content_type;           /* malloc'd or NULL */
	char *retry_after;            /* malloc'd or NULL */
	char *peer_root_pem;          /* CA cert the server presented, when
	                                 the client was made with
	                                 capture_chain (first contact) */
};

void ecc_http_response_clear(struct ecc_http_response *r);

/* `ctx` is borrowed and must outlive the client.  `timeout` in seconds
 * bounds connect, each request and each response (and 3 x timeout the
 * whole exchange).  SIGPIPE is set to SIG_IGN if it was SIG_DFL, so a
 * server closing the connection is an error, not the end of the program. */
int ecc_http_client_new(ecc_http_client **out, const char *host, int port,
    SSL_CTX *ctx, int timeout, size_t max_body);
void ecc_http_client_free(ecc_http_client *c);

/* Keep the server's chain root in the response (first-contact pinning). */
void ecc_http_client_capture_chain(ecc_http_client *c, int on);

/* Send one request.  `headers` is NULL or a NULL-terminated list of
 * "Name", "value" pairs.  Returns 0 when a response arrived (any status),
 * ECC_EUNAVAIL when the server cannot be reached or TLS fails (message
 * explains: "certificate verify failed", "connection refused", ...). */
int ecc_http_request(struct ecc_http_response *out, ecc_http_client *c,
    const char *method, const char *uri, const char *const *headers,
    const void *body, size_t len);

/* Split "host[:port]" (also "[v6]:port"); port defaults to `defport`. */
int ecc_http_parse_hostport(char **host, int *port, const char *text,
    int defport);

/* Percent-encode a path or query component (keeps '/' when keep_slash). */
char *ecc_http_escape(const char *s, int keep_slash);

#endif
