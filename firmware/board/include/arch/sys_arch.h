/*
 * arch/sys_arch.h — the OS types of lwIP's FreeRTOS port (CubeMX's
 * LWIP/system/arch/sys_arch.h), reduced to what compiling app/ needs.
 */
#ifndef BOARD_ARCH_SYS_ARCH_H
#define BOARD_ARCH_SYS_ARCH_H

#include <stdint.h>

#define SYS_MBOX_NULL ((void *)0)
#define SYS_SEM_NULL ((void *)0)

typedef void *sys_sem_t;
typedef void *sys_mutex_t;
typedef void *sys_mbox_t;
typedef void *sys_thread_t;
typedef uint32_t sys_prot_t;

#endif /* BOARD_ARCH_SYS_ARCH_H */
