/*
 * nodetap's neigh addon: the IPv4 neighbour (ARP) table over rtnetlink, which Node.js cannot
 * speak. One function, dump(), sends one RTM_GETNEIGH dump request for AF_INET on a
 * NETLINK_ROUTE socket (as node_exporter's arp collector does through jsimonetti/rtnetlink) and
 * returns one object per entry:
 *   { ifindex, device, state, ip }
 * ifindex: the entry's interface index; device: its name from if_indextoname(3), "" when the
 * interface is gone by now (the caller skips those, as rtnetlink's rtnl.Neighbours does); state:
 * ndm_state, the NUD_* bit mask, unconverted; ip: NDA_DST in dotted form ("" if absent).
 * agent/metrics/collectors/arp.ts counts them as node_exporter's collector/arp_linux.go does.
 * On failure it throws an Error whose code is the errno name (EPERM under a strict seccomp policy).
 *
 * N-API only (ABI-stable): one build serves every Node version >= 12. Built by
 * scripts/build-native.sh with gcc directly:
 *   gcc -O2 -shared -fPIC -I<node include dir> -o build/native/neigh.node native/neigh/neigh.c
 */
#define NAPI_VERSION 4
#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUFFER (64 * 1024)
/* Interface names looked up in one dump (a linear cache: hosts have few devices with neighbours). */
#define NAME_CACHE 256

struct name_entry {
  int ifindex;
  char name[IF_NAMESIZE];
};

static void throw_errno(napi_env env, int err, const char *what) {
  char code[24];
  const char *name = err == EPERM    ? "EPERM"
                     : err == EACCES ? "EACCES"
                     : err == EAFNOSUPPORT ? "EAFNOSUPPORT"
                     : err == EPROTONOSUPPORT ? "EPROTONOSUPPORT"
                     : err == ENOBUFS ? "ENOBUFS"
                     : err == ENOMEM  ? "ENOMEM"
                     : err == EINVAL  ? "EINVAL"
                     : err == EMSGSIZE ? "EMSGSIZE"
                     : err == EPROTO ? "EPROTO"
                     : err == EAGAIN ? "EAGAIN"
                     : NULL;
  if (name != NULL) snprintf(code, sizeof code, "%s", name);
  else snprintf(code, sizeof code, "ERRNO_%d", err);
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, message);
}

/* The device name for an index, from the cache or if_indextoname; "" when the interface is gone. */
static const char *device_name(struct name_entry *cache, int *cached, int ifindex, char *scratch) {
  for (int i = 0; i < *cached; i++) {
    if (cache[i].ifindex == ifindex) return cache[i].name;
  }
  if (if_indextoname((unsigned)ifindex, scratch) == NULL) scratch[0] = '\0';
  if (*cached < NAME_CACHE) {
    cache[*cached].ifindex = ifindex;
    memcpy(cache[*cached].name, scratch, IF_NAMESIZE);
    (*cached)++;
  }
  return scratch;
}

static int set_int(napi_env env, napi_value obj, const char *key, int64_t value) {
  napi_value v;
  return napi_create_int64(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static int set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* Appends one RTM_NEWNEIGH message's entry to `list`; returns 0 when N-API fails (an exception is pending). */
static int add_entry(napi_env env, napi_value list, uint32_t *count, const struct nlmsghdr *h, struct name_entry *cache, int *cached) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg))) return 1;
  const struct ndmsg *ndm = NLMSG_DATA(h);
  if (ndm->ndm_family != AF_INET) return 1;
  char ip[INET_ADDRSTRLEN] = "";
  int attr_len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct ndmsg));
  for (const struct rtattr *a = (const struct rtattr *)((const char *)ndm + NLMSG_ALIGN(sizeof(struct ndmsg))); RTA_OK(a, attr_len);
       a = RTA_NEXT(a, attr_len)) {
    if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4) inet_ntop(AF_INET, RTA_DATA(a), ip, sizeof ip);
  }
  char scratch[IF_NAMESIZE];
  const char *device = device_name(cache, cached, ndm->ndm_ifindex, scratch);
  napi_value entry;
  if (napi_create_object(env, &entry) != napi_ok) return 0;
  if (!set_int(env, entry, "ifindex", ndm->ndm_ifindex) || !set_string(env, entry, "device", device) ||
      !set_int(env, entry, "state", ndm->ndm_state) || !set_string(env, entry, "ip", ip)) {
    return 0;
  }
  return napi_set_element(env, list, (*count)++, entry) == napi_ok;
}

static napi_value dump(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    throw_errno(env, errno, "netlink socket");
    return NULL;
  }
  /* The dump runs on Node's main thread: never wait on the kernel for more than a few seconds. */
  struct timeval timeout = {.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  socklen_t local_len = sizeof local;
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0 || getsockname(fd, (struct sockaddr *)&local, &local_len) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "netlink bind");
    return NULL;
  }
  struct {
    struct nlmsghdr h;
    struct ndmsg ndm;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
  req.h.nlmsg_type = RTM_GETNEIGH;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = (uint32_t)time(NULL);
  req.ndm.ndm_family = AF_INET;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t sent;
  do {
    sent = sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, err, "RTM_GETNEIGH request");
    return NULL;
  }

  char *buf = malloc(RECV_BUFFER);
  struct name_entry *cache = malloc(sizeof(struct name_entry) * NAME_CACHE);
  napi_value list;
  if (buf == NULL || cache == NULL || napi_create_array(env, &list) != napi_ok) {
    free(buf);
    free(cache);
    close(fd);
    if (buf == NULL || cache == NULL) throw_errno(env, ENOMEM, "RTM_GETNEIGH dump");
    return NULL;
  }
  int cached = 0;
  uint32_t count = 0;
  int done = 0;
  int failure = 0; /* an errno to throw */
  int napi_failed = 0;
  while (!done && !failure && !napi_failed) {
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = buf, .iov_len = RECV_BUFFER};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      failure = errno;
      break;
    }
    if (msg.msg_flags & MSG_TRUNC) {
      failure = EMSGSIZE;
      break;
    }
    if (n == 0) {
      failure = EPROTO;
      break;
    }
    if (from.nl_pid != 0) continue; /* not from the kernel */
    int len = (int)n;
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != req.h.nlmsg_seq || (h->nlmsg_pid != 0 && h->nlmsg_pid != local.nl_pid)) continue;
      if (h->nlmsg_type == NLMSG_DONE) {
        done = 1;
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        failure = h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)) && e->error < 0 ? -e->error : EPROTO;
        break;
      }
      if (h->nlmsg_type != RTM_NEWNEIGH) continue;
      if (!add_entry(env, list, &count, h, cache, &cached)) {
        napi_failed = 1;
        break;
      }
    }
  }
  free(buf);
  free(cache);
  close(fd);
  if (napi_failed) return NULL;
  if (failure) {
    throw_errno(env, failure, "RTM_GETNEIGH dump");
    return NULL;
  }
  return list;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dump", NAPI_AUTO_LENGTH, dump, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dump", fn) != napi_ok) return NULL;
  return exports;
}
