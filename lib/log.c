/*
 * log.c - logging (see log.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"

#define LOG_LINE_MAX 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum ecc_log_target log_target = ECC_LOG_STDERR;
static FILE *log_file;
static int log_level = LOG_WARNING;
static char log_ident[32] = "ecconfig";

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

int
ecc_log_open(enum ecc_log_target target, const char *path, const char *ident,
    int level)
{
	FILE *f = NULL;

	if (target == ECC_LOG_FILE) {
		if ((f = fopen(path, "a")) == NULL)
			return ecc_error_set_errno(ECC_ERROR,
			    "cannot open log file %s", path);
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	if (log_target == ECC_LOG_SYSLOG)
		closelog();
	log_file = f;
	log_target = target;
	if (ident)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (target == ECC_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	ecc_log_set_level(level);
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void
ecc_log_set_level(int level)
{
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int
ecc_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int
ecc_log_is_enabled(int level)
{
	return level <= ecc_log_get_level();
}

/* Copy `src` into `dst`, escaping control and non-ASCII bytes as \xNN. */
static void
log_escape(char *dst, size_t dstlen, const char *src)
{
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)src;

	for (; *s && o + 5 < dstlen; s++) {
		if (*s >= 0x20 && *s < 0x7f && *s != '\\') {
			dst[o++] = (char)*s;
		} else {
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", *s);
		}
	}
	dst[o] = '\0';
}

void
ecc_logv(int level, const char *area, const char *fmt, va_list ap)
{
	char raw[LOG_LINE_MAX], line[LOG_LINE_MAX];
	char stamp[40];
	struct timespec ts;
	struct tm tm;
	FILE *out;
	int saved = errno;

	if (!ecc_log_is_enabled(level))
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(line, sizeof(line), raw);

	pthread_mutex_lock(&log_lock);
	if (log_target == ECC_LOG_SYSLOG) {
		syslog(level, "[%s] %s", area ? area : "-", line);
	} else {
		out = log_file ? log_file : stderr;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(out, "%s.%03ld %s[%s] %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, log_ident, level_names[level & 7],
		    area ? area : "-", line);
		fflush(out);
	}
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

void
ecc_log(int level, const char *area, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ecc_logv(level, area, fmt, ap);
	va_end(ap);
}

void
ecc_log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	if (log_target == ECC_LOG_SYSLOG)
		closelog();
	log_target = ECC_LOG_STDERR;
	pthread_mutex_unlock(&log_lock);
}
