/*
 * arch/cc.h — compiler/platform glue for lwIP on arm-none-eabi-gcc + newlib
 * (what the CubeMX project's LWIP/system/arch/cc.h provides).
 */
#ifndef BOARD_ARCH_CC_H
#define BOARD_ARCH_CC_H

#include <stdlib.h>
#include <sys/time.h>

#define LWIP_ERRNO_STDINCLUDE 1 /* newlib's errno */
#define LWIP_TIMEVAL_PRIVATE 0  /* newlib's struct timeval */
#define BYTE_ORDER LITTLE_ENDIAN
#define LWIP_RAND() ((u32_t)rand())
#define LWIP_PLATFORM_DIAG(x) \
    do {                      \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) \
    do {                        \
        for (;;) {              \
        }                       \
    } while (0)

#endif /* BOARD_ARCH_CC_H */
