#include "net/tap.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int uh_tap_create(const char *ifname, uid_t uid, gid_t gid, struct uh_error *err)
{
	uh_autoclose int fd = -1;
	struct ifreq ifr;

	if (strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ)
		return uh_errx(err, "tap name '%s' must be 1 to %d characters", ifname,
			       IFNAMSIZ - 1);
	/* TUNSETIFF on an existing persistent tap would attach to it: refuse instead */
	if (if_nametoindex(ifname) != 0)
		return uh_errc(err, EEXIST, "tap %s: an interface of that name exists", ifname);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return uh_err(err, errno, "tap %s: open /dev/net/tun", ifname);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return uh_err(err, errno, "tap %s: create", ifname);
	if (ioctl(fd, TUNSETOWNER, (unsigned long)uid) < 0 ||
	    ioctl(fd, TUNSETGROUP, (unsigned long)gid) < 0) {
		int e = errno;
		return uh_err(err, e, "tap %s: set owner %u", ifname, (unsigned)uid);
	}
	if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		return uh_err(err, errno, "tap %s: make persistent", ifname);
	return 0;
}
