/*
 * ecconfig.h - the public header of libecconfig: everything ecconfigd,
 * eccfg and third-party tools share.
 */
#ifndef ECCONFIG_H
#define ECCONFIG_H

#include "error.h"
#include "log.h"
#include "util.h"
#include "path.h"
#include "conf.h"
#include "dconf.h"
#include "json.h"
#include "topology.h"
#include "repo.h"
#include "changeset.h"
#include "view.h"
#include "manifest.h"
#include "snapshot.h"
#include "auth.h"
#include "pki.h"
#include "tls.h"
#include "httpc.h"
#include "store.h"
#include "boot.h"
#include "apply.h"
#include "backoff.h"
#include "pg.h"
#include "pglog.h"

#define ECC_DEFAULT_PORT 2027

#endif
