/*
 * client.h - an authenticated session with ecconfigd for one eccfg run.
 *
 * Where the server and trust anchor come from, first match wins:
 * --server/--ca/--ca-fingerprint; $ECCFG_SERVER/$ECCFG_CA/
 * $ECCFG_CA_FINGERPRINT; the checkout's metadata (`hint`, below); the
 * file named by $ECCFG_CONFIG, else ~/.eccfg.conf, else
 * SYSCONFDIR/ecconfig/eccfg.conf (keys: server, ca_file, ca_fingerprint,
 * username, password_file).  Without any trust anchor the command fails
 * and says which option to pass.
 *
 * The password is read from --password, $ECCFG_PASSWORD, --password-file,
 * --credentials, or prompted on the terminal (refused with a clear
 * message when there is none).  The session logs in once
 * (POST /v1/login) and uses the bearer token for every later request.
 */
#ifndef ECCFG_CLIENT_H
#define ECCFG_CLIENT_H

#include <stdint.h>

#include <jansson.h>

#include "eccfg.h"

struct eccfg_client;

/* Where a checkout says its server is (may be NULL fields). */
struct eccfg_server_hint {
	const char *server;
	const char *ca_file;
	const char *ca_fingerprint;
};

/* Resolve server and trust, connect lazily.  `hint` may be NULL. */
int eccfg_client_new(struct eccfg_client **out, struct eccfg_ctx *ctx,
    const struct eccfg_server_hint *hint);
void eccfg_client_free(struct eccfg_client *c);

/* The resolved "host:port", CA file and fingerprint (borrowed), for
 * recording in a checkout's metadata. */
const char *eccfg_client_server(const struct eccfg_client *c);
const char *eccfg_client_ca_file(const struct eccfg_client *c);
const char *eccfg_client_ca_fingerprint(const struct eccfg_client *c);

/* Make a JSON request (logging in first if needed).  `body` is borrowed
 * (may be NULL).  On a 2xx, 0 and *out (may be NULL for 204) is a new
 * reference.  On an error status, the negative ECC_E* code matching the
 * server's error code, ecc_error_last() holding the server's message, and
 * *out (if non-NULL) the error body, so callers can read "paths" or
 * "output".  *status (optional) gets the HTTP status. */
int eccfg_client_json(json_t **out, int *status, struct eccfg_client *c,
    const char *method, const char *uri, const json_t *body);

/* Raw GET (files, snapshots): 0 with the response on 2xx; errors as
 * above.  Caller clears the response. */
int eccfg_client_get(struct ecc_http_response *out, struct eccfg_client *c,
    const char *uri);

/* The head revision (GET /v1/health). */
int eccfg_client_head(int64_t *out, struct eccfg_client *c);

/* A node's session (eccfg bootstrap/pull/follow): the managers of
 * `boot`'s repo list, tried in order when one cannot be reached (the one
 * that answered stays current), the cluster CA of ca_file, and the node
 * certificate cert_file/key_file as the only credential.  `boot` is
 * borrowed for the call only. */
int eccfg_client_new_node(struct eccfg_client **out, struct eccfg_ctx *ctx,
    const struct ecc_boot *boot);

/* The Retry-After of the last response, in ms (0 when it had none). */
uint64_t eccfg_client_retry_after(const struct eccfg_client *c);

/* The login name this session used (the node name in node mode). */
const char *eccfg_client_username(const struct eccfg_client *c);

#endif
