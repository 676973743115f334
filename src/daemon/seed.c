/* Per-instance provisioning: a cloud-init NoCloud seed disk (what Debian, Incus and Proxmox
 * users know). A small vfat image labelled CIDATA (cloud-init 22.4 reads a NoCloud seed only
 * from vfat or iso9660, measured) holding meta-data (instance-id, hostname) and user-data
 * (the SSH keys given with --ssh-key; root login by key only, no passwords). Made with
 * mkfs.vfat and mcopy into a temp file, fsynced, renamed: no loop mount. Attached read-only
 * as ubd1. The network is not in it: the guest takes its address from the kernel command
 * line (umlhost-guest.service in our templates). */
#include "daemon/daemon.h"
#include "util/cleanup.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run a tool with its output to /dev/null; its exit status, or -1. */
static int run_tool(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		closefrom(3);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int uh_seed_check_key(const char *key, struct uh_error *err)
{
	static const char *const types[] = {"ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-",
					    "sk-ssh-ed25519@openssh.com ", "sk-ecdsa-sha2-", NULL};
	size_t n = strlen(key);
	int i;

	if (n == 0 || n > 8192 || strpbrk(key, "\n\r\"\\") != NULL)
		return uh_errx(err, "--ssh-key: a public key is one line of at most 8 KiB");
	for (i = 0; types[i]; i++)
		if (strncmp(key, types[i], strlen(types[i])) == 0)
			return 0;
	return uh_errx(err, "--ssh-key: '%.20s...' is not an OpenSSH public key (ssh-ed25519, "
			    "ssh-rsa, ecdsa-sha2-...)",
		       key);
}

static int write_file(const char *path, const char *text, struct uh_error *err)
{
	uh_autoclose int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return uh_err(err, errno, "create %s", path);
	if (uh_write_full(fd, text, strlen(text)) < 0)
		return uh_err(err, errno, "write %s", path);
	return 0;
}

int uh_seed_create(const char *dir, const char *name, int64_t created, json_t *keys,
		   struct uh_error *err)
{
	char meta[PATH_MAX + 16], user[PATH_MAX + 16], tmp[PATH_MAX + 16], seed[PATH_MAX + 16];
	uh_autofree char *text = NULL;
	size_t len = 0;
	FILE *fp;
	json_t *k;
	size_t i;
	int ret = -1;

	snprintf(meta, sizeof(meta), "%s/meta-data", dir);
	snprintf(user, sizeof(user), "%s/user-data", dir);
	snprintf(tmp, sizeof(tmp), "%s/seed.img.tmp", dir);
	snprintf(seed, sizeof(seed), "%s/seed.img", dir);
	fp = open_memstream(&text, &len);
	if (fp == NULL)
		abort();
	/* the instance-id changes only with a new instance: cloud-init runs its first-boot
	 * modules (host keys, authorized keys) once per instance */
	fprintf(fp, "instance-id: umlhost-%s-%lld\nlocal-hostname: %s\n", name,
		(long long)created, name);
	fclose(fp); /* (flushes the text) */
	if (write_file(meta, text, err) < 0)
		goto out;
	free(text);
	text = NULL;
	fp = open_memstream(&text, &len);
	if (fp == NULL)
		abort();
	/* locale: cloud-config fails without one in a minimal Debian (measured) */
	/* provisioning is a first boot's job: cloud-init sits before sysinit.target, and with
	 * it every boot waited ~12 s more for Apache (measured); later boots go without it */
	fprintf(fp, "#cloud-config\nlocale: C.UTF-8\nusers: []\ndisable_root: false\n"
		    "ssh_pwauth: false\nssh_deletekeys: true\n"
		    "runcmd:\n  - [touch, /etc/cloud/cloud-init.disabled]\n"
		    "ssh_authorized_keys:\n");
	json_array_foreach(keys, i, k)
		fprintf(fp, "  - \"%s\"\n", json_string_value(k));
	fclose(fp);
	if (write_file(user, text, err) < 0)
		goto out;
	unlink(tmp);
	{
		char *mkfs[] = {"mkfs.vfat", "-n", "CIDATA", "-C", tmp, "1024", NULL};
		char *copy[] = {"mcopy", "-o", "-i", tmp, meta, user, "::", NULL};

		if (run_tool(mkfs) != 0) {
			uh_errx(err, "seed disk: mkfs.vfat failed (apt-get install dosfstools)");
			goto out;
		}
		if (run_tool(copy) != 0) {
			uh_errx(err, "seed disk: mcopy failed (apt-get install mtools)");
			goto out;
		}
	}
	{
		uh_autoclose int fd = open(tmp, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fsync(fd) < 0) {
			uh_err(err, errno, "seed disk: fsync %s", tmp);
			goto out;
		}
	}
	if (chmod(tmp, 0444) < 0 || rename(tmp, seed) < 0) {
		uh_err(err, errno, "seed disk: rename to %s", seed);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		unlink(tmp);
	unlink(meta);
	unlink(user);
	return ret;
}
