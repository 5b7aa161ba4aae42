/*
 * nodetap's neigh addon: the IPv4 neighbour (ARP) table over rtnetlink, which Node.js cannot
 * speak. One function, dump(), sends one RTM_GETNEIGH dump request for AF_INET on a
 * NETLINK_ROUTE socket (as node_exporter's arp collector does through jsimonetti/rtnetlink) and
 * returns a Promise of one object per entry:
 *   { ifindex, device, state, ip }
 * ifindex: the entry's interface index; device: its name from if_indextoname(3), "" when the
 * interface is gone by now (ENXIO/ENODEV; the caller skips those, as rtnetlink's rtnl.Neighbours
 * does); state: ndm_state, the NUD_* bit mask, unconverted; ip: NDA_DST in dotted form ("" if
 * absent). agent/metrics/collectors/arp.ts counts them as node_exporter's collector/arp_linux.go
 * does. On failure the Promise rejects with an Error whose code is the errno name (EPERM under a
 * strict seccomp policy; EAGAIN when the kernel sends nothing for 5 seconds).
 *
 * The socket work runs on a libuv thread-pool thread (napi_create_async_work), never on Node's
 * main thread: before Linux ~6.9 a neighbour dump takes rtnl_mutex, and sendto/recvmsg then sleep
 * uninterruptibly for as long as another process holds it (SO_RCVTIMEO does not cover that wait),
 * which would freeze the whole agent. The worker fills a plain C array (no N-API calls off the
 * main thread); the completion callback, on the main thread, turns it into JS objects. A dump
 * stuck in the kernel holds its pool thread until it returns, so the caller must not start
 * another while one is in flight (arp.ts fails the scrape instead).
 *
 * N-API only (ABI-stable, NAPI_VERSION 4): one build serves every Node version >= 12. Built by
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUFFER (64 * 1024)

/* One neighbour, as the worker collects it. */
struct neigh_entry {
  int ifindex;
  int state;
  char device[IF_NAMESIZE];
  char ip[INET_ADDRSTRLEN];
};

/* Interface names looked up in one dump (a linear cache: hosts have few devices with neighbours). */
struct name_entry {
  int ifindex;
  char name[IF_NAMESIZE];
};

/* One dump() call: filled by the worker (execute), read and freed on the main thread (complete). */
struct dump_job {
  napi_async_work work;
  napi_deferred deferred;
  struct neigh_entry *entries;
  size_t count;
  size_t capacity;
  struct name_entry *names;
  size_t named;
  size_t names_capacity;
  int err;          /* an errno to reject with; 0 on success */
  const char *what; /* what failed, for the message */
};

static void errno_code(int err, char *code, size_t size) {
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
                     : err == EMFILE ? "EMFILE"
                     : err == ENFILE ? "ENFILE"
                     : err == EBUSY  ? "EBUSY"
                     : NULL;
  if (name != NULL) snprintf(code, size, "%s", name);
  else snprintf(code, size, "ERRNO_%d", err);
}

/* Leaves an exception pending (a generic Error unless one already is) and returns NULL. */
static napi_value fail(napi_env env, const char *message) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) napi_throw_error(env, NULL, message);
  return NULL;
}

static void throw_errno(napi_env env, int err, const char *what) {
  char code[24];
  errno_code(err, code, sizeof code);
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  if (napi_throw_error(env, code, message) != napi_ok) fail(env, message);
}

/* The reason to reject with after an N-API call failed: the pending exception, else a new Error. */
static napi_value failure_reason(napi_env env, const char *message) {
  bool pending = false;
  napi_value reason = NULL;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending && napi_get_and_clear_last_exception(env, &reason) == napi_ok &&
      reason != NULL) {
    return reason;
  }
  napi_value text;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) == napi_ok && napi_create_error(env, NULL, text, &reason) == napi_ok) {
    return reason;
  }
  return NULL;
}

/* Rejects with an Error whose code is the errno name, as throw_errno throws. */
static void reject_errno(napi_env env, napi_deferred deferred, int err, const char *what) {
  char code[24];
  errno_code(err, code, sizeof code);
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code_value, message_value, error = NULL;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value) != napi_ok ||
      napi_create_error(env, code_value, message_value, &error) != napi_ok) {
    error = failure_reason(env, message);
  }
  if (error == NULL || napi_reject_deferred(env, deferred, error) != napi_ok) {
    /* Nothing else can settle it: leave the reason as an uncaught exception rather than hang silently. */
    fail(env, message);
  }
}

/* --- the worker thread: plain C only, no N-API --- */

/* The device name for an index into `out`, from the cache or if_indextoname; "" when the interface
 * is gone (ENXIO, ENODEV). Returns 0 or an errno. */
static int device_name(struct dump_job *job, int ifindex, char *out) {
  for (size_t i = 0; i < job->named; i++) {
    if (job->names[i].ifindex == ifindex) {
      memcpy(out, job->names[i].name, IF_NAMESIZE);
      return 0;
    }
  }
  char scratch[IF_NAMESIZE];
  if (if_indextoname((unsigned)ifindex, scratch) == NULL) {
    int err = errno;
    if (err != ENXIO && err != ENODEV) return err != 0 ? err : EPROTO;
    scratch[0] = '\0';
  }
  if (job->named == job->names_capacity) {
    size_t capacity = job->names_capacity == 0 ? 16 : job->names_capacity * 2;
    struct name_entry *grown = realloc(job->names, capacity * sizeof *grown);
    if (grown == NULL) return ENOMEM;
    job->names = grown;
    job->names_capacity = capacity;
  }
  job->names[job->named].ifindex = ifindex;
  memcpy(job->names[job->named].name, scratch, IF_NAMESIZE);
  job->named++;
  memcpy(out, scratch, IF_NAMESIZE);
  return 0;
}

/* Appends one RTM_NEWNEIGH message's entry; returns 0 or an errno. */
static int add_entry(struct dump_job *job, const struct nlmsghdr *h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ndmsg))) return 0;
  const struct ndmsg *ndm = NLMSG_DATA(h);
  if (ndm->ndm_family != AF_INET) return 0;
  if (job->count == job->capacity) {
    size_t capacity = job->capacity == 0 ? 64 : job->capacity * 2;
    struct neigh_entry *grown = realloc(job->entries, capacity * sizeof *grown);
    if (grown == NULL) return ENOMEM;
    job->entries = grown;
    job->capacity = capacity;
  }
  struct neigh_entry *e = &job->entries[job->count];
  memset(e, 0, sizeof *e);
  e->ifindex = ndm->ndm_ifindex;
  e->state = ndm->ndm_state;
  int attr_len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct ndmsg));
  for (const struct rtattr *a = (const struct rtattr *)((const char *)ndm + NLMSG_ALIGN(sizeof(struct ndmsg))); RTA_OK(a, attr_len);
       a = RTA_NEXT(a, attr_len)) {
    if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4) inet_ntop(AF_INET, RTA_DATA(a), e->ip, sizeof e->ip);
  }
  int err = device_name(job, ndm->ndm_ifindex, e->device);
  if (err != 0) return err;
  job->count++;
  return 0;
}

/* The dump itself; returns 0 or an errno, with job->what saying which step failed. */
static int run_dump(struct dump_job *job) {
  job->what = "netlink socket";
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  /* Never wait more than a few seconds for the kernel's answer (the rtnl_mutex wait is not covered). */
  struct timeval timeout = {.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK};
  socklen_t local_len = sizeof local;
  job->what = "netlink bind";
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0 || getsockname(fd, (struct sockaddr *)&local, &local_len) < 0) {
    int err = errno;
    close(fd);
    return err;
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
  job->what = "RTM_GETNEIGH request";
  do {
    sent = sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    int err = errno;
    close(fd);
    return err;
  }

  job->what = "RTM_GETNEIGH dump";
  char *buf = malloc(RECV_BUFFER);
  if (buf == NULL) {
    close(fd);
    return ENOMEM;
  }
  int done = 0;
  int failure = 0;
  while (!done && !failure) {
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
        /* A dump that failed part way ends with NLMSG_DONE carrying a negative errno. */
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int status;
          memcpy(&status, NLMSG_DATA(h), sizeof status);
          if (status < 0) {
            failure = -status;
            break;
          }
        }
        done = 1;
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        failure = h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)) && e->error < 0 ? -e->error : EPROTO;
        break;
      }
      if (h->nlmsg_type != RTM_NEWNEIGH) continue;
      int err = add_entry(job, h);
      if (err != 0) {
        failure = err;
        break;
      }
    }
  }
  free(buf);
  close(fd);
  return failure;
}

static void execute(napi_env env, void *data) {
  (void)env; /* no N-API calls off the main thread */
  struct dump_job *job = data;
  job->err = run_dump(job);
}

/* --- back on the main thread --- */

static int set_int(napi_env env, napi_value obj, const char *key, int64_t value) {
  napi_value v;
  return napi_create_int64(env, value, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static int set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok && napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* The JS array of the job's entries, or NULL when N-API failed (an exception may be pending). */
static napi_value entries_to_js(napi_env env, const struct dump_job *job) {
  napi_value list;
  if (napi_create_array_with_length(env, job->count, &list) != napi_ok) return NULL;
  for (size_t i = 0; i < job->count; i++) {
    const struct neigh_entry *e = &job->entries[i];
    napi_value entry;
    if (napi_create_object(env, &entry) != napi_ok || !set_int(env, entry, "ifindex", e->ifindex) ||
        !set_string(env, entry, "device", e->device) || !set_int(env, entry, "state", e->state) || !set_string(env, entry, "ip", e->ip) ||
        napi_set_element(env, list, (uint32_t)i, entry) != napi_ok) {
      return NULL;
    }
  }
  return list;
}

static void free_job(napi_env env, struct dump_job *job) {
  if (job->work != NULL) napi_delete_async_work(env, job->work);
  free(job->entries);
  free(job->names);
  free(job);
}

static void complete(napi_env env, napi_status status, void *data) {
  struct dump_job *job = data;
  if (status != napi_ok) {
    /* napi_cancelled: dump() never cancels, but settle the promise all the same. */
    napi_value reason = failure_reason(env, "RTM_GETNEIGH dump: the work was cancelled");
    if (reason == NULL || napi_reject_deferred(env, job->deferred, reason) != napi_ok) fail(env, "RTM_GETNEIGH dump: cancelled");
  } else if (job->err != 0) {
    reject_errno(env, job->deferred, job->err, job->what);
  } else {
    napi_value list = entries_to_js(env, job);
    if (list == NULL || napi_resolve_deferred(env, job->deferred, list) != napi_ok) {
      napi_value reason = failure_reason(env, "RTM_GETNEIGH dump: could not build the result");
      if (reason == NULL || napi_reject_deferred(env, job->deferred, reason) != napi_ok) fail(env, "RTM_GETNEIGH dump: could not build the result");
    }
  }
  free_job(env, job);
}

static napi_value dump(napi_env env, napi_callback_info info) {
  (void)info;
  struct dump_job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    throw_errno(env, ENOMEM, "RTM_GETNEIGH dump");
    return fail(env, "RTM_GETNEIGH dump: out of memory");
  }
  napi_value promise;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    free_job(env, job);
    return fail(env, "RTM_GETNEIGH dump: could not create a promise");
  }
  napi_value resource_name;
  if (napi_create_string_utf8(env, "nodetap.neigh.dump", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    /* The promise exists: settle it with the reason rather than leave it pending forever. */
    napi_value reason = failure_reason(env, "RTM_GETNEIGH dump: could not queue the work");
    bool rejected = reason != NULL && napi_reject_deferred(env, job->deferred, reason) == napi_ok;
    free_job(env, job);
    if (!rejected) return fail(env, "RTM_GETNEIGH dump: could not queue the work");
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dump", NAPI_AUTO_LENGTH, dump, NULL, &fn) != napi_ok) return fail(env, "neigh: could not create dump()");
  if (napi_set_named_property(env, exports, "dump", fn) != napi_ok) return fail(env, "neigh: could not export dump()");
  return exports;
}
