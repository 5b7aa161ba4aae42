/*
 * nodetap's NVML addon: GPU readings for the gpu collector from the NVIDIA driver's management
 * library, libnvidia-ml.so.1, loaded at run time with dlopen. No NVIDIA header or library is needed
 * to build it: the few types and constants used are declared below, as NVML's public nvml.h
 * defines them (NVML keeps its ABI: new behaviour comes as new _vN symbols).
 *
 * Two functions, each returning a Promise:
 *   open(libraryPath)  dlopen + nvmlInit_v2; resolves { driverVersion, nvmlVersion, library }
 *   sample()           every reading of every GPU and MIG device (values: Float64Array, NaN where
 *                      the GPU has no such reading); see READING_NAMES for the order
 * and readingNames, the names of those values.
 *
 * Each call runs on a detached thread of its own, not on libuv's pool: a wedged GPU can block an
 * NVML call for minutes or forever, and such a call must neither stall the event loop nor take a
 * thread that file I/O needs, nor keep the process from exiting. The JS side (gpu/nvml-addon.ts)
 * starts no second call while one is pending. Errors reject with an Error whose code is NVML's
 * return name (NVML_ERROR_DRIVER_NOT_LOADED, ...) or DLOPEN_FAILED.
 *
 * N-API only (ABI-stable): one build serves every Node version. Built by scripts/build-native.sh:
 *   gcc -O2 -shared -fPIC -I<node include dir> -o build/native/nvml.node native/nvml/nvml.c -ldl -lpthread
 */
#define NAPI_VERSION 4
#include <dlfcn.h>
#include <math.h>
#include <node_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- NVML's ABI, as nvml.h declares it ---- */
typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_FUNCTION_NOT_FOUND 13

typedef struct {
  unsigned int gpu;
  unsigned int memory;
} nvmlUtilization_t;
typedef struct {
  unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
  unsigned int version;
  unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;
#define NVML_MEMORY_V2_VERSION ((unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))
typedef struct {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;
typedef union {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  signed long long sllVal;
  signed int siVal;
  unsigned short usVal;
} nvmlValue_t;
typedef struct {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType; /* 0 double, 1 uint, 2 ulong, 3 ull, 4 sll, 5 sint, 6 ushort */
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t;

#define NVML_TEMPERATURE_GPU 0
#define NVML_CLOCK_SM 1
#define NVML_CLOCK_MEM 2
#define NVML_PCIE_UTIL_TX_BYTES 0
#define NVML_PCIE_UTIL_RX_BYTES 1
#define NVML_FI_DEV_ECC_SBE_VOL_TOTAL 3
#define NVML_FI_DEV_ECC_DBE_VOL_TOTAL 4
#define NVML_FI_DEV_ECC_SBE_AGG_TOTAL 5
#define NVML_FI_DEV_ECC_DBE_AGG_TOTAL 6
#define NVML_FI_DEV_MEMORY_TEMP 82
#define NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX 138
#define NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX 139
#define NVML_ALL_LINKS 0xFFFFFFFFu
#define NAME_LEN 96

/* ---- the readings, in the order sample() returns them ---- */
enum {
  R_UTIL_GPU, R_UTIL_MEM, R_UTIL_ENC, R_UTIL_DEC,
  R_MEM_TOTAL, R_MEM_RESERVED, R_MEM_FREE, R_MEM_USED,
  R_POWER_MW, R_POWER_LIMIT_MW, R_ENERGY_MJ,
  R_TEMP_GPU, R_TEMP_MEM, R_CLOCK_SM, R_CLOCK_MEM,
  R_PCIE_REPLAY, R_PCIE_TX_KBS, R_PCIE_RX_KBS,
  R_CLOCKS_EVENT_REASONS,
  R_REMAP_COR, R_REMAP_UNC, R_REMAP_PENDING, R_REMAP_FAILURE,
  R_ECC_SBE_VOL, R_ECC_DBE_VOL, R_ECC_SBE_AGG, R_ECC_DBE_AGG,
  R_NVLINK_TX_KIB, R_NVLINK_RX_KIB,
  R_FAN_SPEED,
  R_COUNT
};
static const char *const READING_NAMES[R_COUNT] = {
  "util_gpu", "util_mem", "util_enc", "util_dec",
  "mem_total", "mem_reserved", "mem_free", "mem_used",
  "power_mw", "power_limit_mw", "energy_mj",
  "temp_gpu", "temp_mem", "clock_sm", "clock_mem",
  "pcie_replay", "pcie_tx_kbs", "pcie_rx_kbs",
  "clocks_event_reasons",
  "remap_cor", "remap_unc", "remap_pending", "remap_failure",
  "ecc_sbe_vol", "ecc_dbe_vol", "ecc_sbe_agg", "ecc_dbe_agg",
  "nvlink_tx_kib", "nvlink_rx_kib",
  "fan_speed",
};

/* ---- the library's functions; any may be missing in an old driver ---- */
static void *lib;
static int initialized;
static nvmlReturn_t (*pInit)(void);
static const char *(*pErrorString)(nvmlReturn_t);
static nvmlReturn_t (*pDriverVersion)(char *, unsigned int);
static nvmlReturn_t (*pNvmlVersion)(char *, unsigned int);
static nvmlReturn_t (*pCount)(unsigned int *);
static nvmlReturn_t (*pHandleByIndex)(unsigned int, nvmlDevice_t *);
static nvmlReturn_t (*pName)(nvmlDevice_t, char *, unsigned int);
static nvmlReturn_t (*pUuid)(nvmlDevice_t, char *, unsigned int);
static nvmlReturn_t (*pPciInfo)(nvmlDevice_t, nvmlPciInfo_t *);
static nvmlReturn_t (*pMinor)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*pUtilization)(nvmlDevice_t, nvmlUtilization_t *);
static nvmlReturn_t (*pEncoderUtil)(nvmlDevice_t, unsigned int *, unsigned int *);
static nvmlReturn_t (*pDecoderUtil)(nvmlDevice_t, unsigned int *, unsigned int *);
static nvmlReturn_t (*pMemoryInfo)(nvmlDevice_t, nvmlMemory_t *);
static nvmlReturn_t (*pMemoryInfoV2)(nvmlDevice_t, nvmlMemory_v2_t *);
static nvmlReturn_t (*pPowerUsage)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*pPowerLimit)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*pEnergy)(nvmlDevice_t, unsigned long long *);
static nvmlReturn_t (*pTemperature)(nvmlDevice_t, int, unsigned int *);
static nvmlReturn_t (*pFieldValues)(nvmlDevice_t, int, nvmlFieldValue_t *);
static nvmlReturn_t (*pClockInfo)(nvmlDevice_t, int, unsigned int *);
static nvmlReturn_t (*pPcieReplay)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*pPcieThroughput)(nvmlDevice_t, int, unsigned int *);
static nvmlReturn_t (*pEventReasons)(nvmlDevice_t, unsigned long long *);
static nvmlReturn_t (*pRemappedRows)(nvmlDevice_t, unsigned int *, unsigned int *, unsigned int *, unsigned int *);
static nvmlReturn_t (*pFanSpeed)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*pMigMode)(nvmlDevice_t, unsigned int *, unsigned int *);
static nvmlReturn_t (*pMaxMigCount)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*pMigByIndex)(nvmlDevice_t, unsigned int, nvmlDevice_t *);
static nvmlReturn_t (*pGpuInstanceId)(nvmlDevice_t, unsigned int *);
static nvmlReturn_t (*pComputeInstanceId)(nvmlDevice_t, unsigned int *);

#define LOAD(ptr, name) (*(void **)(&(ptr)) = dlsym(lib, name))

static void load_symbols(void) {
  LOAD(pInit, "nvmlInit_v2");
  LOAD(pErrorString, "nvmlErrorString");
  LOAD(pDriverVersion, "nvmlSystemGetDriverVersion");
  LOAD(pNvmlVersion, "nvmlSystemGetNVMLVersion");
  LOAD(pCount, "nvmlDeviceGetCount_v2");
  LOAD(pHandleByIndex, "nvmlDeviceGetHandleByIndex_v2");
  LOAD(pName, "nvmlDeviceGetName");
  LOAD(pUuid, "nvmlDeviceGetUUID");
  LOAD(pPciInfo, "nvmlDeviceGetPciInfo_v3");
  LOAD(pMinor, "nvmlDeviceGetMinorNumber");
  LOAD(pUtilization, "nvmlDeviceGetUtilizationRates");
  LOAD(pEncoderUtil, "nvmlDeviceGetEncoderUtilization");
  LOAD(pDecoderUtil, "nvmlDeviceGetDecoderUtilization");
  LOAD(pMemoryInfo, "nvmlDeviceGetMemoryInfo");
  LOAD(pMemoryInfoV2, "nvmlDeviceGetMemoryInfo_v2");
  LOAD(pPowerUsage, "nvmlDeviceGetPowerUsage");
  LOAD(pPowerLimit, "nvmlDeviceGetEnforcedPowerLimit");
  LOAD(pEnergy, "nvmlDeviceGetTotalEnergyConsumption");
  LOAD(pTemperature, "nvmlDeviceGetTemperature");
  LOAD(pFieldValues, "nvmlDeviceGetFieldValues");
  LOAD(pClockInfo, "nvmlDeviceGetClockInfo");
  LOAD(pPcieReplay, "nvmlDeviceGetPcieReplayCounter");
  LOAD(pPcieThroughput, "nvmlDeviceGetPcieThroughput");
  if (!LOAD(pEventReasons, "nvmlDeviceGetCurrentClocksEventReasons"))
    LOAD(pEventReasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
  LOAD(pRemappedRows, "nvmlDeviceGetRemappedRows");
  LOAD(pFanSpeed, "nvmlDeviceGetFanSpeed");
  LOAD(pMigMode, "nvmlDeviceGetMigMode");
  LOAD(pMaxMigCount, "nvmlDeviceGetMaxMigDeviceCount");
  LOAD(pMigByIndex, "nvmlDeviceGetMigDeviceHandleByIndex");
  LOAD(pGpuInstanceId, "nvmlDeviceGetGpuInstanceId");
  LOAD(pComputeInstanceId, "nvmlDeviceGetComputeInstanceId");
}

static const char *return_name(nvmlReturn_t r) {
  switch (r) {
    case 1: return "NVML_ERROR_UNINITIALIZED";
    case 2: return "NVML_ERROR_INVALID_ARGUMENT";
    case 3: return "NVML_ERROR_NOT_SUPPORTED";
    case 4: return "NVML_ERROR_NO_PERMISSION";
    case 6: return "NVML_ERROR_NOT_FOUND";
    case 7: return "NVML_ERROR_INSUFFICIENT_SIZE";
    case 9: return "NVML_ERROR_DRIVER_NOT_LOADED";
    case 10: return "NVML_ERROR_TIMEOUT";
    case 12: return "NVML_ERROR_LIBRARY_NOT_FOUND";
    case 13: return "NVML_ERROR_FUNCTION_NOT_FOUND";
    case 15: return "NVML_ERROR_GPU_IS_LOST";
    case 16: return "NVML_ERROR_RESET_REQUIRED";
    case 17: return "NVML_ERROR_OPERATING_SYSTEM";
    default: return "NVML_ERROR_UNKNOWN";
  }
}

/* ---- results, filled on the worker thread, turned into JS on the main thread ---- */
#define MAX_MIGS 32
typedef struct {
  unsigned int index, gpuInstanceId, computeInstanceId;
  char name[NAME_LEN], uuid[NAME_LEN];
  double values[R_COUNT];
} mig_result;
typedef struct {
  unsigned int index;
  double minor;
  int migMode;
  char name[NAME_LEN], uuid[NAME_LEN], pciBusId[32];
  char error[160]; /* non-empty: this device could not be read */
  double values[R_COUNT];
  unsigned int migCount;
  mig_result migs[MAX_MIGS];
} gpu_result;

enum op_kind { OP_OPEN, OP_SAMPLE };
typedef struct {
  enum op_kind kind;
  napi_env env;
  napi_deferred deferred;
  napi_threadsafe_function done;
  int closing; /* the environment is being torn down: the worker must not touch `done` */
  /* open */
  char library[4096];
  char driverVersion[96], nvmlVersion[96];
  /* sample */
  unsigned int count;
  gpu_result *gpus;
  /* failure of the whole call */
  char errorCode[48];
  char errorMessage[4700];
} op;

static void fail(op *o, const char *code, const char *fmt, const char *detail) {
  snprintf(o->errorCode, sizeof o->errorCode, "%s", code);
  snprintf(o->errorMessage, sizeof o->errorMessage, fmt, detail);
}

static const char *nvml_message(nvmlReturn_t r) {
  return pErrorString != NULL ? pErrorString(r) : return_name(r);
}

static void run_open(op *o) {
  if (lib == NULL) {
    dlerror();
    lib = dlopen(o->library, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
      const char *why = dlerror();
      fail(o, "DLOPEN_FAILED", "%s", why != NULL ? why : "dlopen failed");
      return;
    }
    load_symbols();
  }
  if (pInit == NULL || pCount == NULL || pHandleByIndex == NULL) {
    fail(o, "NVML_ERROR_FUNCTION_NOT_FOUND", "%s has no nvmlInit_v2/nvmlDeviceGetCount_v2/nvmlDeviceGetHandleByIndex_v2", o->library);
    return;
  }
  if (!initialized) {
    nvmlReturn_t r = pInit();
    if (r != NVML_SUCCESS) {
      snprintf(o->errorCode, sizeof o->errorCode, "%s", return_name(r));
      snprintf(o->errorMessage, sizeof o->errorMessage, "nvmlInit_v2: %s", nvml_message(r));
      return;
    }
    initialized = 1;
  }
  if (pDriverVersion == NULL || pDriverVersion(o->driverVersion, sizeof o->driverVersion) != NVML_SUCCESS) o->driverVersion[0] = 0;
  if (pNvmlVersion == NULL || pNvmlVersion(o->nvmlVersion, sizeof o->nvmlVersion) != NVML_SUCCESS) o->nvmlVersion[0] = 0;
}

#define SET(v, idx, expr) ((v)[idx] = (expr))

static void read_memory(nvmlDevice_t dev, double *v) {
  if (pMemoryInfoV2 != NULL) {
    nvmlMemory_v2_t m;
    memset(&m, 0, sizeof m);
    m.version = NVML_MEMORY_V2_VERSION;
    if (pMemoryInfoV2(dev, &m) == NVML_SUCCESS) {
      v[R_MEM_TOTAL] = (double)m.total;
      v[R_MEM_RESERVED] = (double)m.reserved;
      v[R_MEM_FREE] = (double)m.free;
      v[R_MEM_USED] = (double)m.used;
      return;
    }
  }
  nvmlMemory_t m;
  if (pMemoryInfo != NULL && pMemoryInfo(dev, &m) == NVML_SUCCESS) {
    v[R_MEM_TOTAL] = (double)m.total;
    v[R_MEM_FREE] = (double)m.free;
    v[R_MEM_USED] = (double)m.used;
  }
}

static double field_value(const nvmlFieldValue_t *f) {
  if (f->nvmlReturn != NVML_SUCCESS) return NAN;
  switch (f->valueType) {
    case 0: return f->value.dVal;
    case 1: return (double)f->value.uiVal;
    case 2: return (double)f->value.ulVal;
    case 3: return (double)f->value.ullVal;
    case 4: return (double)f->value.sllVal;
    case 5: return (double)f->value.siVal;
    case 6: return (double)f->value.usVal;
    default: return NAN;
  }
}

static void read_fields(nvmlDevice_t dev, double *v) {
  if (pFieldValues == NULL) return;
  static const struct {
    unsigned int id, scope;
    int reading;
  } wanted[] = {
    {NVML_FI_DEV_MEMORY_TEMP, 0, R_TEMP_MEM},
    {NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX, NVML_ALL_LINKS, R_NVLINK_TX_KIB},
    {NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX, NVML_ALL_LINKS, R_NVLINK_RX_KIB},
    {NVML_FI_DEV_ECC_SBE_VOL_TOTAL, 0, R_ECC_SBE_VOL},
    {NVML_FI_DEV_ECC_DBE_VOL_TOTAL, 0, R_ECC_DBE_VOL},
    {NVML_FI_DEV_ECC_SBE_AGG_TOTAL, 0, R_ECC_SBE_AGG},
    {NVML_FI_DEV_ECC_DBE_AGG_TOTAL, 0, R_ECC_DBE_AGG},
  };
  enum { N = sizeof wanted / sizeof wanted[0] };
  nvmlFieldValue_t fields[N];
  memset(fields, 0, sizeof fields);
  for (int i = 0; i < N; i++) {
    fields[i].fieldId = wanted[i].id;
    fields[i].scopeId = wanted[i].scope;
  }
  if (pFieldValues(dev, N, fields) != NVML_SUCCESS) return;
  for (int i = 0; i < N; i++) v[wanted[i].reading] = field_value(&fields[i]);
}

static void read_gpu(nvmlDevice_t dev, double *v) {
  unsigned int a, b, c, d;
  unsigned long long ull;
  nvmlUtilization_t u;
  if (pUtilization != NULL && pUtilization(dev, &u) == NVML_SUCCESS) {
    v[R_UTIL_GPU] = u.gpu;
    v[R_UTIL_MEM] = u.memory;
  }
  if (pEncoderUtil != NULL && pEncoderUtil(dev, &a, &b) == NVML_SUCCESS) v[R_UTIL_ENC] = a;
  if (pDecoderUtil != NULL && pDecoderUtil(dev, &a, &b) == NVML_SUCCESS) v[R_UTIL_DEC] = a;
  read_memory(dev, v);
  if (pPowerUsage != NULL && pPowerUsage(dev, &a) == NVML_SUCCESS) v[R_POWER_MW] = a;
  if (pPowerLimit != NULL && pPowerLimit(dev, &a) == NVML_SUCCESS) v[R_POWER_LIMIT_MW] = a;
  if (pEnergy != NULL && pEnergy(dev, &ull) == NVML_SUCCESS) v[R_ENERGY_MJ] = (double)ull;
  if (pTemperature != NULL && pTemperature(dev, NVML_TEMPERATURE_GPU, &a) == NVML_SUCCESS) v[R_TEMP_GPU] = a;
  if (pClockInfo != NULL && pClockInfo(dev, NVML_CLOCK_SM, &a) == NVML_SUCCESS) v[R_CLOCK_SM] = a;
  if (pClockInfo != NULL && pClockInfo(dev, NVML_CLOCK_MEM, &a) == NVML_SUCCESS) v[R_CLOCK_MEM] = a;
  if (pPcieReplay != NULL && pPcieReplay(dev, &a) == NVML_SUCCESS) v[R_PCIE_REPLAY] = a;
  if (pPcieThroughput != NULL && pPcieThroughput(dev, NVML_PCIE_UTIL_TX_BYTES, &a) == NVML_SUCCESS) v[R_PCIE_TX_KBS] = a;
  if (pPcieThroughput != NULL && pPcieThroughput(dev, NVML_PCIE_UTIL_RX_BYTES, &a) == NVML_SUCCESS) v[R_PCIE_RX_KBS] = a;
  if (pEventReasons != NULL && pEventReasons(dev, &ull) == NVML_SUCCESS) v[R_CLOCKS_EVENT_REASONS] = (double)ull;
  if (pRemappedRows != NULL && pRemappedRows(dev, &a, &b, &c, &d) == NVML_SUCCESS) {
    v[R_REMAP_COR] = a;
    v[R_REMAP_UNC] = b;
    v[R_REMAP_PENDING] = c;
    v[R_REMAP_FAILURE] = d;
  }
  if (pFanSpeed != NULL && pFanSpeed(dev, &a) == NVML_SUCCESS) v[R_FAN_SPEED] = a;
  read_fields(dev, v);
}

static void nan_fill(double *v) {
  for (int i = 0; i < R_COUNT; i++) v[i] = NAN;
}

static void read_migs(nvmlDevice_t dev, gpu_result *g) {
  unsigned int max = 0;
  if (g->migMode != 1 || pMaxMigCount == NULL || pMigByIndex == NULL || pMaxMigCount(dev, &max) != NVML_SUCCESS) return;
  if (max > MAX_MIGS) max = MAX_MIGS;
  for (unsigned int i = 0; i < max; i++) {
    nvmlDevice_t mig;
    if (pMigByIndex(dev, i, &mig) != NVML_SUCCESS) continue; /* NOT_FOUND: no MIG device at this index */
    mig_result *m = &g->migs[g->migCount++];
    m->index = i;
    nan_fill(m->values);
    if (pGpuInstanceId == NULL || pGpuInstanceId(mig, &m->gpuInstanceId) != NVML_SUCCESS) m->gpuInstanceId = 0xFFFFFFFFu;
    if (pComputeInstanceId == NULL || pComputeInstanceId(mig, &m->computeInstanceId) != NVML_SUCCESS) m->computeInstanceId = 0xFFFFFFFFu;
    if (pName == NULL || pName(mig, m->name, NAME_LEN) != NVML_SUCCESS) m->name[0] = 0;
    if (pUuid == NULL || pUuid(mig, m->uuid, NAME_LEN) != NVML_SUCCESS) m->uuid[0] = 0;
    read_memory(mig, m->values);
  }
}

static void run_sample(op *o) {
  if (!initialized) {
    fail(o, "NVML_ERROR_UNINITIALIZED", "%s", "open() has not succeeded");
    return;
  }
  unsigned int count = 0;
  nvmlReturn_t r = pCount(&count);
  if (r != NVML_SUCCESS) {
    snprintf(o->errorCode, sizeof o->errorCode, "%s", return_name(r));
    snprintf(o->errorMessage, sizeof o->errorMessage, "nvmlDeviceGetCount_v2: %s", nvml_message(r));
    return;
  }
  if (count > 256) count = 256;
  o->gpus = calloc(count == 0 ? 1 : count, sizeof(gpu_result));
  if (o->gpus == NULL) {
    fail(o, "ENOMEM", "%s", "out of memory");
    return;
  }
  o->count = count;
  for (unsigned int i = 0; i < count; i++) {
    gpu_result *g = &o->gpus[i];
    g->index = i;
    g->minor = NAN;
    g->migMode = -1;
    nan_fill(g->values);
    nvmlDevice_t dev;
    r = pHandleByIndex(i, &dev);
    if (r != NVML_SUCCESS) {
      snprintf(g->error, sizeof g->error, "%s: %s", return_name(r), nvml_message(r));
      continue;
    }
    unsigned int a, b;
    if (pName == NULL || pName(dev, g->name, NAME_LEN) != NVML_SUCCESS) g->name[0] = 0;
    if (pUuid == NULL || pUuid(dev, g->uuid, NAME_LEN) != NVML_SUCCESS) g->uuid[0] = 0;
    nvmlPciInfo_t pci;
    memset(&pci, 0, sizeof pci);
    if (pPciInfo != NULL && pPciInfo(dev, &pci) == NVML_SUCCESS) snprintf(g->pciBusId, sizeof g->pciBusId, "%s", pci.busId);
    if (pMinor != NULL && pMinor(dev, &a) == NVML_SUCCESS) g->minor = a;
    if (pMigMode != NULL && pMigMode(dev, &a, &b) == NVML_SUCCESS) g->migMode = (int)a;
    read_gpu(dev, g->values);
    read_migs(dev, g);
  }
}

/*
 * A call that returns while Node shuts down must not reach the completion callback, which the
 * shutdown frees: each op has a cleanup hook, run before the callback's own (hooks run in reverse
 * order of registration), that marks it closing under this lock.
 */
static pthread_mutex_t closing_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_env_closing(void *arg) {
  op *o = arg;
  pthread_mutex_lock(&closing_lock);
  o->closing = 1;
  pthread_mutex_unlock(&closing_lock);
}

static void *worker(void *arg) {
  op *o = arg;
  if (o->kind == OP_OPEN) run_open(o);
  else run_sample(o);
  pthread_mutex_lock(&closing_lock);
  int closing = o->closing;
  if (!closing) {
    napi_call_threadsafe_function(o->done, o, napi_tsfn_nonblocking);
    napi_release_threadsafe_function(o->done, napi_tsfn_release);
  }
  pthread_mutex_unlock(&closing_lock);
  /* When closing, the op is left as it is: the process is ending. */
  return NULL;
}

/* ---- back on the main thread ---- */
static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}
static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}
static void set(napi_env env, napi_value obj, const char *name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
}
static napi_value values_array(napi_env env, const double *values) {
  napi_value buffer, array;
  void *data;
  napi_create_arraybuffer(env, sizeof(double) * R_COUNT, &data, &buffer);
  memcpy(data, values, sizeof(double) * R_COUNT);
  napi_create_typedarray(env, napi_float64_array, R_COUNT, buffer, 0, &array);
  return array;
}

static napi_value sample_to_js(napi_env env, const op *o) {
  napi_value result, devices;
  napi_create_object(env, &result);
  napi_create_array_with_length(env, o->count, &devices);
  for (unsigned int i = 0; i < o->count; i++) {
    const gpu_result *g = &o->gpus[i];
    napi_value d, migs;
    napi_create_object(env, &d);
    set(env, d, "index", num(env, g->index));
    set(env, d, "minor", num(env, g->minor));
    set(env, d, "name", str(env, g->name));
    set(env, d, "uuid", str(env, g->uuid));
    set(env, d, "pciBusId", str(env, g->pciBusId));
    set(env, d, "migMode", num(env, g->migMode));
    set(env, d, "error", str(env, g->error));
    set(env, d, "values", values_array(env, g->values));
    napi_create_array_with_length(env, g->migCount, &migs);
    for (unsigned int j = 0; j < g->migCount; j++) {
      const mig_result *m = &g->migs[j];
      napi_value mo;
      napi_create_object(env, &mo);
      set(env, mo, "index", num(env, m->index));
      set(env, mo, "gpuInstanceId", num(env, m->gpuInstanceId == 0xFFFFFFFFu ? NAN : m->gpuInstanceId));
      set(env, mo, "computeInstanceId", num(env, m->computeInstanceId == 0xFFFFFFFFu ? NAN : m->computeInstanceId));
      set(env, mo, "name", str(env, m->name));
      set(env, mo, "uuid", str(env, m->uuid));
      set(env, mo, "values", values_array(env, m->values));
      napi_set_element(env, migs, j, mo);
    }
    set(env, d, "migs", migs);
    napi_set_element(env, devices, i, d);
  }
  set(env, result, "devices", devices);
  return result;
}

static void on_done(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  op *o = data;
  if (env != NULL) napi_remove_env_cleanup_hook(env, on_env_closing, o);
  if (env != NULL) {
    if (o->errorCode[0] != 0) {
      napi_value err;
      napi_create_error(env, str(env, o->errorCode), str(env, o->errorMessage), &err);
      napi_reject_deferred(env, o->deferred, err);
    } else if (o->kind == OP_OPEN) {
      napi_value info;
      napi_create_object(env, &info);
      set(env, info, "driverVersion", str(env, o->driverVersion));
      set(env, info, "nvmlVersion", str(env, o->nvmlVersion));
      set(env, info, "library", str(env, o->library));
      napi_resolve_deferred(env, o->deferred, info);
    } else {
      napi_resolve_deferred(env, o->deferred, sample_to_js(env, o));
    }
  }
  free(o->gpus);
  free(o);
}

static napi_value start(napi_env env, op *o) {
  napi_value promise;
  if (napi_create_promise(env, &o->deferred, &promise) != napi_ok) {
    free(o);
    return NULL;
  }
  napi_value name = str(env, "nodetap-nvml");
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, on_done, &o->done) != napi_ok) {
    napi_throw_error(env, "EAGAIN", "cannot create the completion callback");
    free(o);
    return NULL;
  }
  /* A call stuck in the driver must not keep the process alive at shutdown. */
  napi_unref_threadsafe_function(env, o->done);
  o->env = env;
  napi_add_env_cleanup_hook(env, on_env_closing, o);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, worker, o);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    napi_remove_env_cleanup_hook(env, on_env_closing, o);
    napi_release_threadsafe_function(o->done, napi_tsfn_abort);
    napi_throw_error(env, "EAGAIN", "cannot start a thread for the NVML call");
    free(o);
    return NULL;
  }
  return promise;
}

static napi_value open_library(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  op *o = calloc(1, sizeof(op));
  if (o == NULL) return NULL;
  o->kind = OP_OPEN;
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], o->library, sizeof o->library, &len) != napi_ok || len == 0) {
    free(o);
    napi_throw_type_error(env, "EINVAL", "open(libraryPath): a non-empty path or library name is required");
    return NULL;
  }
  return start(env, o);
}

static napi_value sample(napi_env env, napi_callback_info info) {
  (void)info;
  op *o = calloc(1, sizeof(op));
  if (o == NULL) return NULL;
  o->kind = OP_SAMPLE;
  return start(env, o);
}

NAPI_MODULE_INIT() {
  napi_value fn, names;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_library, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "sample", NAPI_AUTO_LENGTH, sample, NULL, &fn);
  napi_set_named_property(env, exports, "sample", fn);
  napi_create_array_with_length(env, R_COUNT, &names);
  for (int i = 0; i < R_COUNT; i++) napi_set_element(env, names, i, str(env, READING_NAMES[i]));
  napi_set_named_property(env, exports, "readingNames", names);
  return exports;
}
