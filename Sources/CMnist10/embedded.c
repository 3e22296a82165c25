// Embeds the gzip files of include/mnist10/ into the binary. `.incbin` resolves the path through
// the target's include directory, which SwiftPM passes with -I. SwiftPM does not track these files
// as inputs: Scripts/regenerate-mnist10 touches this file so a rebuild picks up new data.
#include "CMnist10.h"

#define EMBED(symbol, file)                                                          \
    __asm__(".section .rodata\n"                                                     \
            ".balign 64\n"                                                           \
            ".local " #symbol "_start\n" #symbol "_start:\n"                         \
            ".incbin \"mnist10/" file "\"\n"                                         \
            ".local " #symbol "_end\n" #symbol "_end:\n"                             \
            ".previous\n");                                                          \
    extern const unsigned char symbol##_start[];                                     \
    extern const unsigned char symbol##_end[];

EMBED(mnist10_train_images, "train-images-10x10-idx3-ubyte.gz")
EMBED(mnist10_train_labels, "train-labels-idx1-ubyte.gz")
EMBED(mnist10_test_images, "t10k-images-10x10-idx3-ubyte.gz")
EMBED(mnist10_test_labels, "t10k-labels-idx1-ubyte.gz")

#define ACCESSOR(name, symbol)                                                       \
    const unsigned char *name(size_t *length) {                                      \
        *length = (size_t)(symbol##_end - symbol##_start);                           \
        return symbol##_start;                                                       \
    }

ACCESSOR(mnist10_train_images_gz, mnist10_train_images)
ACCESSOR(mnist10_train_labels_gz, mnist10_train_labels)
ACCESSOR(mnist10_test_images_gz, mnist10_test_images)
ACCESSOR(mnist10_test_labels_gz, mnist10_test_labels)
