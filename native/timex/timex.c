/*
 * nodetap's timex addon: the kernel clock state from adjtimex(2), which Node.js cannot call and
 * no /proc or /sys file carries. One function, read(), calls adjtimex with modes = 0 (read-only,
 * no privilege needed) and returns { state, <every field of struct timex> } as plain numbers;
 * agent/metrics/collectors/timex.ts converts them as node_exporter's collector/timex.go does.
 * On failure it throws an Error whose code is the errno name (EPERM under a strict seccomp policy).
 *
 * N-API only (ABI-stable): one build serves every Node version >= 12. Built by
 * scripts/build-native.sh with gcc directly:
 *   gcc -O2 -shared -fPIC -I<node include dir> -o build/native/timex.node native/timex/timex.c
 */
#define NAPI_VERSION 4
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

static int set_number(napi_env env, napi_value obj, const char *name, long long value) {
  napi_value v;
  if (napi_create_int64(env, (int64_t)value, &v) != napi_ok) return 0;
  return napi_set_named_property(env, obj, name, v) == napi_ok;
}

static napi_value read_timex(napi_env env, napi_callback_info info) {
  (void)info;
  struct timex tx;
  memset(&tx, 0, sizeof tx); /* modes = 0: read only */
  int state = adjtimex(&tx);
  if (state == -1) {
    int err = errno;
    char code[16];
    const char *name = err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == ENOSYS ? "ENOSYS" : err == EINVAL ? "EINVAL" : NULL;
    if (name != NULL) snprintf(code, sizeof code, "%s", name);
    else snprintf(code, sizeof code, "ERRNO_%d", err);
    napi_throw_error(env, code, strerror(err));
    return NULL;
  }
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  int ok = set_number(env, obj, "state", state) && set_number(env, obj, "offset", tx.offset) &&
           set_number(env, obj, "freq", tx.freq) && set_number(env, obj, "maxerror", tx.maxerror) &&
           set_number(env, obj, "esterror", tx.esterror) && set_number(env, obj, "status", tx.status) &&
           set_number(env, obj, "constant", tx.constant) && set_number(env, obj, "precision", tx.precision) &&
           set_number(env, obj, "tolerance", tx.tolerance) && set_number(env, obj, "timeSec", tx.time.tv_sec) &&
           set_number(env, obj, "timeUsec", tx.time.tv_usec) && set_number(env, obj, "tick", tx.tick) &&
           set_number(env, obj, "ppsfreq", tx.ppsfreq) && set_number(env, obj, "jitter", tx.jitter) &&
           set_number(env, obj, "shift", tx.shift) && set_number(env, obj, "stabil", tx.stabil) &&
           set_number(env, obj, "jitcnt", tx.jitcnt) && set_number(env, obj, "calcnt", tx.calcnt) &&
           set_number(env, obj, "errcnt", tx.errcnt) && set_number(env, obj, "stbcnt", tx.stbcnt) &&
           set_number(env, obj, "tai", tx.tai);
  return ok ? obj : NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "read", NAPI_AUTO_LENGTH, read_timex, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "read", fn) != napi_ok) return NULL;
  return exports;
}
