#ifndef CMINIMA_KERNELS_H
#define CMINIMA_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// out[i] = fmaf((float)bytes[i], scale, offset) for i < count: expands stored pixel values into
/// features. One fused multiply-add per value, so the result is the same on every instruction set.
void minima_expand_bytes(const uint8_t *bytes, float *out, size_t count, float scale, float offset);

#endif
