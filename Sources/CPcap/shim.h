#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>

/* Opens a capture file for libpcap with stdio's own locking turned off
 * (glibc's __fsetlocking): the stream is read by one thread only, and in a
 * process with more than one thread (the sensor's output and BLAS threads)
 * glibc otherwise locks and unlocks it around each of libpcap's two freads
 * per packet. NULL with errno set on failure. */
static inline FILE *fs_fopen_unlocked(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) __fsetlocking(f, FSETLOCKING_BYCALLER);
    return f;
}

/* Live capture helpers (Linux): PACKET_FANOUT on libpcap's socket, interface
 * flags and ethtool offload queries. Swift cannot express `struct ifreq`'s
 * union or variadic ioctl, so these few calls live here. Each returns 0 or
 * -errno. */
#ifdef __linux__
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

static const unsigned int FS_PACKET_FANOUT_HASH = PACKET_FANOUT_HASH;
static const unsigned int FS_PACKET_FANOUT_FLAG_DEFRAG = PACKET_FANOUT_FLAG_DEFRAG;
static const unsigned int FS_ETHTOOL_GFLAGS = ETHTOOL_GFLAGS;
static const unsigned int FS_ETH_FLAG_LRO = ETH_FLAG_LRO;
static const unsigned int FS_ETHTOOL_GGRO = ETHTOOL_GGRO;
static const unsigned int FS_ETHTOOL_GGSO = ETHTOOL_GGSO;
static const unsigned int FS_ETHTOOL_GTSO = ETHTOOL_GTSO;
static const unsigned int FS_IFF_UP = IFF_UP;
static const unsigned int FS_IFF_RUNNING = IFF_RUNNING;

/* setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, 4) where
 * arg = group_id | (mode | flags) << 16. */
static inline int fs_packet_fanout(int fd, unsigned int arg) {
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0) return -errno;
    return 0;
}

/* One `struct ethtool_value` query (ETHTOOL_G*) through SIOCETHTOOL on an
 * AF_INET datagram socket. */
static inline int fs_ethtool_get_value(const char *ifname, unsigned int cmd, unsigned int *out) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    struct ethtool_value ev;
    ev.cmd = cmd;
    ev.data = 0;
    ifr.ifr_data = (char *)&ev;
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    int err = errno;
    close(fd);
    if (rc < 0) return -err;
    *out = ev.data;
    return 0;
}

/* SIOCGIFFLAGS: the interface's IFF_* flags. */
static inline int fs_get_if_flags(const char *ifname, unsigned int *flags) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    int err = errno;
    close(fd);
    if (rc < 0) return -err;
    *flags = (unsigned short)ifr.ifr_flags;
    return 0;
}
#endif
