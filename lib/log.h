/*
 * log.h - one-line, severity-tagged logging to stderr, a file or syslog.
 *
 * Levels are syslog's (0 emerg .. 7 debug).  Messages carry an area
 * ("http", "repo", "tls", ...).  Non-printable bytes in messages are
 * escaped so a remote peer cannot forge log lines.  Thread safe.
 */
#ifndef ECC_LOG_H
#define ECC_LOG_H

#include <stdarg.h>
#include <syslog.h>

enum ecc_log_target {
	ECC_LOG_STDERR = 0,
	ECC_LOG_FILE,
	ECC_LOG_SYSLOG,
};

/* Configure logging.  `path` is used for ECC_LOG_FILE (opened in append
 * mode; reopened by a later call, e.g. after SIGHUP).  `ident` names the
 * program.  Returns 0 or a negative code (file could not be opened). */
int ecc_log_open(enum ecc_log_target target, const char *path,
    const char *ident, int level);

/* Change the maximum level logged. */
void ecc_log_set_level(int level);
int ecc_log_get_level(void);
int ecc_log_is_enabled(int level);

void ecc_log(int level, const char *area, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ecc_logv(int level, const char *area, const char *fmt, va_list ap);

void ecc_log_close(void);

#define ecc_log_err(area, ...)     ecc_log(LOG_ERR, area, __VA_ARGS__)
#define ecc_log_warn(area, ...)    ecc_log(LOG_WARNING, area, __VA_ARGS__)
#define ecc_log_notice(area, ...)  ecc_log(LOG_NOTICE, area, __VA_ARGS__)
#define ecc_log_info(area, ...)    ecc_log(LOG_INFO, area, __VA_ARGS__)
#define ecc_log_debug(area, ...)   ecc_log(LOG_DEBUG, area, __VA_ARGS__)

#endif
