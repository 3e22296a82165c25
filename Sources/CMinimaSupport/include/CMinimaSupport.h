#ifndef CMINIMA_SUPPORT_H
#define CMINIMA_SUPPORT_H

/// The instruction-set level this binary was compiled for (e.g. "x86-64-v4").
const char *minima_build_isa(void);

/// 1 when the running CPU supports every instruction the build's level may use, else 0.
int minima_cpu_supports_build_isa(void);

/// A comma-separated list of the relevant features the running CPU lacks ("" when none).
const char *minima_missing_cpu_features(void);

/// Asks the CPU to start loading the cache line at `address` (a hint; never faults).
static inline void minima_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Names the calling thread for ps, top and debuggers (at most 15 bytes are kept). The
/// corresponding C function is `pthread_setname_np`, a GNU extension Swift's Glibc does not export.
void minima_name_this_thread(const char *name);

/// Bytes a TCP connection has received (the kernel's `tcpi_bytes_received`, which counts what
/// is still queued unread too), or -1 when `fd` is not a TCP socket or the kernel does not say.
long long minima_tcp_bytes_received(int fd);

/// Shuts a socket down both ways (its owner sees the connection end). The C function is `shutdown`.
int minima_shutdown_socket(int fd);

#endif
