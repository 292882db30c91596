/*
 * lwipopts.h — the lwIP options the firmware needs on the NUCLEO-F767ZI.
 * In the CubeMX project these are set in the LwIP middleware's "Key
 * Options" (CubeMX writes them to LWIP/Target/lwipopts.h); this copy is
 * what the ARM compile check (make arm) builds app/ against, so keep the
 * two in step. See firmware/README.md, "CubeMX settings".
 */
#ifndef BOARD_LWIPOPTS_H
#define BOARD_LWIPOPTS_H

#define NO_SYS 0
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_DHCP 0 /* static IP, from app_config.h */
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_TCP 1
#define LWIP_UDP 1
#define LWIP_NETCONN 1
#define LWIP_SOCKET 1
#define LWIP_SOCKET_SELECT 1
#define LWIP_SO_RCVTIMEO 1 /* the listener's frame and idle timeouts */
#define SO_REUSE 1
#define LWIP_TCPIP_CORE_LOCKING 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_STATS 0

/* Static pools, no heap at run time: 4 listener sessions + the listening
 * socket + 2 client tasks (+1 silent) + spare. */
#define MEM_ALIGNMENT 4
#define MEM_SIZE (16 * 1024)
#define MEMP_NUM_NETCONN 12
#define MEMP_NUM_TCP_PCB 12
#define MEMP_NUM_TCP_PCB_LISTEN 2
#define MEMP_NUM_TCP_SEG 32
#define PBUF_POOL_SIZE 16
#define TCP_MSS 1460
#define TCP_WND (4 * TCP_MSS)
#define TCP_SND_BUF (4 * TCP_MSS)

#define TCPIP_THREAD_STACKSIZE 1024
#define TCPIP_THREAD_PRIO 24 /* osPriorityNormal + 0 in CMSIS-RTOS V2 terms */
#define TCPIP_MBOX_SIZE 8
#define DEFAULT_TCP_RECVMBOX_SIZE 8
#define DEFAULT_ACCEPTMBOX_SIZE 8

#endif /* BOARD_LWIPOPTS_H */
