/* The HTTPS API's certificate and key: the admin's (api_cert, api_key), or a self-signed
 * pair made at the first start under <state>/tls (ECDSA P-256, ten years, the listen address,
 * localhost and the host name as subject alternative names), kept for later starts so that
 * its fingerprint stays what clients pinned. Its SHA-256 fingerprint is logged and an event. */
#include "daemon/api_gate.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "net/addr.h"

#define PEM_MAX (256 * 1024)

/* follow: the admin's files may be symlinks (certbot's live/ are); ours are not */
static int read_pem(const char *path, int follow, char *buf, size_t *len, struct uh_error *err)
{
	uh_autoclose int fd =
		open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return uh_err(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size >= PEM_MAX)
		return uh_errx(err, "%s is not a PEM file (a regular file under 256 KiB)", path);
	n = uh_pread_full(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size)
		return uh_err(err, errno ? errno : EIO, "read %s", path);
	*len = (size_t)n;
	return 0;
}

static int write_pem(const char *path, const gnutls_datum_t *d, mode_t mode, struct uh_error *err)
{
	uh_autotmpfile struct uh_tmpfile t = UH_TMPFILE_INIT;

	if (uh_tmpfile_open(&t, path, mode, err) < 0 ||
	    uh_write_full(t.fd, d->data, d->size) < 0)
		return err->msg[0] ? -1 : uh_err(err, errno, "write %s", path);
	return uh_tmpfile_commit(&t, err);
}

#define TRY(call, what)                                                                            \
	do {                                                                                       \
		int _r = (call);                                                                   \
		if (_r < 0) {                                                                      \
			uh_errx(err, "self-signed certificate: %s: %s", what, gnutls_strerror(_r)); \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

/* A new key and certificate for `listen`, written as key.pem (0600) and cert.pem. */
static int make_self_signed(const char *dir, const char *listen, struct uh_error *err)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kd = {NULL, 0}, cd = {NULL, 0};
	char host[256] = "umlhost", path[PATH_MAX + 16];
	unsigned char serial[16];
	struct uh_ip ip;
	int port, ret = -1;
	time_t now = time(NULL);

	gethostname(host, sizeof(host) - 1);
	if (uh_hostport_parse(listen, &ip, &port, err) < 0)
		return -1;
	TRY(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)), "serial");
	serial[0] &= 0x7f; /* a positive number */
	TRY(gnutls_x509_privkey_init(&key), "key");
	TRY(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	    "generate the key");
	TRY(gnutls_x509_crt_init(&crt), "certificate");
	TRY(gnutls_x509_crt_set_version(crt, 3), "version");
	TRY(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), "serial");
	TRY(gnutls_x509_crt_set_activation_time(crt, now - 3600), "activation");
	TRY(gnutls_x509_crt_set_expiration_time(crt, now + 3650L * 86400), "expiration");
	TRY(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
					  (unsigned)strlen(host)),
	    "common name");
	TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host,
						 (unsigned)strlen(host), GNUTLS_FSAN_APPEND),
	    "host name");
	TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						 GNUTLS_FSAN_APPEND),
	    "localhost");
	TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip.a,
						 (unsigned)uh_ip_len(ip.family),
						 GNUTLS_FSAN_APPEND),
	    "address");
	TRY(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "constraints");
	TRY(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE), "key usage");
	TRY(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), "purpose");
	TRY(gnutls_x509_crt_set_key(crt, key), "public key");
	TRY(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "sign");
	TRY(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd), "export the key");
	TRY(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd), "export the certificate");
	if (uh_mkdirs(dir, 0700, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (write_pem(path, &kd, 0600, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if (write_pem(path, &cd, 0644, err) < 0)
		goto out;
	ret = 0;
out:
	if (kd.data) {
		explicit_bzero(kd.data, kd.size);
		gnutls_free(kd.data);
	}
	gnutls_free(cd.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return ret;
}

/* The SHA-256 of the first certificate of a PEM chain, as AB:CD:... */
static int fingerprint(const char *pem, size_t len, char *out, size_t out_len,
		       struct uh_error *err)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = {(unsigned char *)pem, (unsigned int)len};
	unsigned char fp[32];
	size_t fl = sizeof(fp);
	int r;

	if (gnutls_x509_crt_init(&crt) < 0)
		return uh_errx(err, "certificate: out of memory");
	r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM);
	if (r == 0)
		r = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fl);
	gnutls_x509_crt_deinit(crt);
	if (r < 0)
		return uh_errx(err, "the certificate does not parse: %s", gnutls_strerror(r));
	out[0] = '\0';
	for (size_t i = 0, used = 0; i < fl && used + 4 <= out_len; i++)
		used += (size_t)snprintf(out + used, out_len - used, "%s%02X", i ? ":" : "", fp[i]);
	return 0;
}

int uh_api_cert_load(struct uh_daemon *d, char **pem, size_t *len, char *fp, size_t fp_len,
		     struct uh_error *err)
{
	char cert[PATH_MAX], key[PATH_MAX], dir[PATH_MAX];
	uh_autofree char *buf = malloc(2 * PEM_MAX);
	size_t clen = 0, klen = 0;
	int admin = d->cfg.api_cert[0] || d->cfg.api_key[0];

	if (buf == NULL)
		abort();
	snprintf(dir, sizeof(dir), "%.4000s/tls", d->cfg.state_dir);
	if (d->cfg.api_cert[0] || d->cfg.api_key[0]) {
		if (!d->cfg.api_cert[0] || !d->cfg.api_key[0])
			return uh_errx(err, "api_cert and api_key go together: give both, or neither "
					    "for a self-signed pair");
		snprintf(cert, sizeof(cert), "%s", d->cfg.api_cert);
		snprintf(key, sizeof(key), "%s", d->cfg.api_key);
	} else {
		snprintf(cert, sizeof(cert), "%.4000s/cert.pem", dir);
		snprintf(key, sizeof(key), "%.4000s/key.pem", dir);
		if (access(cert, F_OK) != 0 || access(key, F_OK) != 0) {
			if (make_self_signed(dir, d->cfg.api_listen, err) < 0)
				return -1;
			uh_daemon_event(d, "-", "api-certificate", "made a self-signed certificate "
					"for %s in %s",
					d->cfg.api_listen, dir);
		}
	}
	if (read_pem(cert, admin, buf, &clen, err) < 0 ||
	    fingerprint(buf, clen, fp, fp_len, err) < 0)
		return uh_err_prefix(err, "api_cert");
	buf[clen++] = '\n';
	if (read_pem(key, admin, buf + clen, &klen, err) < 0)
		return uh_err_prefix(err, "api_key");
	*len = clen + klen;
	*pem = uh_steal_pointer(&buf);
	return 0;
}
