#ifndef CMNIST10_H
#define CMNIST10_H
#include <stddef.h>

/// The gzip-compressed IDX files of the shipped mnist10 dataset, embedded in the binary.
/// Each function returns a pointer to the bytes and stores their length in *length.
const unsigned char *mnist10_train_images_gz(size_t *length);
const unsigned char *mnist10_train_labels_gz(size_t *length);
const unsigned char *mnist10_test_images_gz(size_t *length);
const unsigned char *mnist10_test_labels_gz(size_t *length);

#endif
